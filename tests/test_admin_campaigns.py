"""The campaign editor (/admin/campaigns): list in words, edit and publish through the programme's
TOML, errors beside their fields with the input kept, stale publishes, the preview page and
"who would see it now"."""

from __future__ import annotations

import html
import re
import tomllib
from typing import Any

import pytest

from tracker.domain.programme.campaign_edit import campaign_tables

from .conftest import Server
from .test_admin import csrf_of, session_of
from .test_ingest import marc_journey

pytestmark = pytest.mark.asyncio


async def marketer(server: Server, role: str = "marketing") -> tuple[dict[str, str], str]:
    headers = await session_of(server, role)
    return headers, await csrf_of(server, headers)


def inputs(page: str) -> dict[str, str]:
    """The values a browser would send back from the editor's form."""
    start = page.index('id="campaign-form"')
    form = page[start : page.index("</form>", start)]
    found: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and (not tag.count('type="checkbox"') or " checked" in tag):
            found[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, text in re.findall(r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        found[name] = html.unescape(text)
    for name, body in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        found[name] = chosen.group(1) if chosen else ""
    return found


def source_of(server: Server) -> str:
    site = server.runtime.sites.get("demo")
    assert site is not None
    return site.programme.source


async def editor(server: Server, headers: dict[str, str], campaign: str) -> dict[str, str]:
    page = await server.http.get(f"/admin/campaigns/{campaign}", headers=headers)
    assert page.status_code == 200, page.text
    return inputs(page.text)


async def post(server: Server, headers: dict[str, str], path: str, data: dict[str, Any]) -> Any:
    return await server.http.post(path, headers=headers, data=data)


async def test_the_list_says_each_campaign_in_words(server: Server) -> None:
    headers, _ = await marketer(server)
    page = (await server.http.get("/admin/campaigns", headers=headers)).text
    for campaign in ("sales-popup", "undecided-interest", "medical-chat", "newsletter-banner"):
        assert f'href="/admin/campaigns/{campaign}?site=demo"' in page
    assert "score engagement &gt;= 12" in page and "on a page matching /demo/*" in page
    assert "when engagement &gt;= 12 and abs(medical - general) &lt;= 2" in page
    assert "at 50% of the page scrolled" in page and "after 10 s on the page" in page
    assert "at most once every 7d" in page and "hidden for 30d after a close" in page


async def test_the_list_speaks_french(server: Server) -> None:
    headers, _ = await marketer(server)
    page = (await server.http.get("/admin/campaigns", headers={**headers, "accept-language": "fr"})).text
    assert (
        "Nouvelle campagne" in page and "une fois par visite" in page and "sur une page correspondant à /demo/*" in page
    )


@pytest.mark.parametrize("role", ["sales"])
async def test_sales_cannot_open_or_change_campaigns(server: Server, role: str) -> None:
    headers, csrf = await marketer(server, role)
    for path in (
        "/admin/campaigns",
        "/admin/campaigns/new",
        "/admin/campaigns/sales-popup",
        "/admin/campaigns/preview",
    ):
        assert (await server.http.get(path, headers=headers)).status_code == 403, path
    before = source_of(server)
    refused = await post(server, headers, "/admin/campaigns/sales-popup/delete", {"csrf": csrf, "base_version": "1"})
    assert refused.status_code == 403 and source_of(server) == before


async def test_admin_edits_campaigns_too(server: Server) -> None:
    headers, _ = await marketer(server, "admin")
    assert (await server.http.get("/admin/campaigns/sales-popup", headers=headers)).status_code == 200


async def test_a_post_without_the_csrf_token_changes_nothing(server: Server) -> None:
    headers, _ = await marketer(server)
    values = await editor(server, headers, "sales-popup")
    before = source_of(server)
    refused = await post(
        server, headers, "/admin/campaigns/sales-popup", {**values, "csrf": "forged", "priority": "99"}
    )
    assert refused.status_code == 403 and source_of(server) == before


async def test_the_editor_shows_the_campaign_with_its_labels(server: Server) -> None:
    headers, _ = await marketer(server)
    values = await editor(server, headers, "sales-popup")
    assert values["kind"] == "popup" and values["priority"] == "10"
    assert values["title"] == "Parlons de votre projet"
    assert (values["field_name_0"], values["field_label_0"]) == ("email", "E-mail professionnel")
    assert (values["field_name_2"], values["field_label_2"]) == ("job_title", "Fonction")
    assert values["score_engagement"] == ">= 12" and values["when_url"] == "/demo/*"
    assert values["cta_url"] == "/demo/contact" and values["after_close"] == "30d"


async def test_saving_unchanged_keeps_the_programme_byte_for_byte(server: Server) -> None:
    headers, csrf = await marketer(server)
    before = source_of(server)
    for campaign in campaign_tables(before):
        values = await editor(server, headers, campaign)
        saved = await post(server, headers, f"/admin/campaigns/{campaign}", {**values, "csrf": csrf})
        assert saved.status_code == 303, saved.text
    assert source_of(server) == before


async def test_save_edits_the_toml_keeps_its_comments_and_publishes(server: Server) -> None:
    headers, csrf = await marketer(server)
    site = server.runtime.sites.get("demo")
    assert site is not None
    version = site.version
    values = await editor(server, headers, "sales-popup")
    values.update(csrf=csrf, title="Parlons <b>impression</b>", field_label_1="Société", priority="11")
    values.update(field_name_3="phone", field_label_3="Téléphone", comment="labels FR")
    saved = await post(server, headers, "/admin/campaigns/sales-popup", values)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/admin/campaigns/sales-popup?site=demo&saved=1"
    site = server.runtime.sites.get("demo")
    assert site is not None and site.version == version + 1
    source = site.programme.source
    assert "# Sales-ready visitors (Marc 13, Capucine 18) get a call-back offer, once per visit." in source
    table = tomllib.loads(source)["campaigns"][0]
    assert table["priority"] == 11 and table["title"] == "Parlons <b>impression</b>"
    assert table["form"]["fields"][1] == {"name": "company", "label": "Société"}
    assert table["form"]["fields"][3] == {"name": "phone", "label": "Téléphone"}
    page = (await server.http.get(saved.headers["location"], headers=headers)).text
    assert "Saved and published." in page and "Parlons &lt;b&gt;impression&lt;/b&gt;" in page
    audit = await server.runtime.store.read(
        lambda q: q.conn.fetchall("SELECT action, actor, detail FROM audit_log ORDER BY id")
    )
    save = [row for row in audit if row["action"] == "campaign_save"][-1]
    assert save["actor"].startswith("user:") and '"before"' in save["detail"] and "Société" in save["detail"]
    # The next beacon call decides with the new copy.
    responses = await marc_journey(server)
    popup = next(d for d in responses[-1]["decisions"] if d["campaign"] == "sales-popup")
    assert popup["title"] == "Parlons <b>impression</b>"


async def test_saving_is_based_on_the_programme_version_not_the_site_row(server: Server) -> None:
    """A site whose origins changed has a row version ahead of its programme's: saves still go through."""
    site = server.runtime.sites.get("demo")
    assert site is not None
    await server.runtime.store.write(lambda q: q.update_site(site.id, origins=["https://www.example.fr"]))
    await server.runtime.sites.refresh()
    headers, csrf = await marketer(server)
    values = await editor(server, headers, "sales-popup")
    values.update(csrf=csrf, priority="12")
    saved = await post(server, headers, "/admin/campaigns/sales-popup", values)
    assert saved.status_code == 303, saved.text
    assert tomllib.loads(source_of(server))["campaigns"][0]["priority"] == 12


async def test_a_new_campaign_is_appended_and_a_deleted_one_goes(server: Server) -> None:
    headers, csrf = await marketer(server)
    form = await server.http.get("/admin/campaigns/new?kind=banner", headers=headers)
    values = inputs(form.text)
    assert values["kind"] == "banner"
    values.update(csrf=csrf, id="soldes", text="Soldes d'hiver", cta_label="Voir", cta_url="/demo/soldes")
    values.update(when_stage_mql="on", when_stage_sql="on", trigger="delay", trigger_value="3")
    saved = await post(server, headers, "/admin/campaigns/new", values)
    assert saved.status_code == 303, saved.text
    table = campaign_tables(source_of(server))["soldes"]
    assert table == {
        "id": "soldes",
        "kind": "banner",
        "text": "Soldes d'hiver",
        "cta": {"label": "Voir", "url": "/demo/soldes"},
        "trigger": {"delay": 3},
        "when": {"stage": ["mql", "sql"]},
    }
    again = await post(server, headers, "/admin/campaigns/new", values)
    assert again.status_code == 400 and "Another campaign already has this id." in again.text
    version = str(server.runtime.sites.get("demo").version)  # type: ignore[union-attr]
    gone = await post(server, headers, "/admin/campaigns/soldes/delete", {"csrf": csrf, "base_version": version})
    assert gone.status_code == 303 and gone.headers["location"] == "/admin/campaigns?site=demo&deleted=soldes"
    assert "soldes" not in campaign_tables(source_of(server))
    assert (await server.http.get("/admin/campaigns/soldes", headers=headers)).status_code == 404


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"cta_url": "javascript:alert(1)"}, "cta_url", "http(s) URL"),
        ({"field_name_0": "mail"}, "field_name_0", "must include"),
        ({"field_label_1": "x" * 61}, "field_label_1", "at most 60"),
        ({"field_name_2": "", "field_label_2": "Fonction"}, "field_name_2", "A label needs a field name."),
        ({"priority": "high"}, "priority", "Enter a whole number."),
        ({"score_engagement": "~("}, "score_engagement", ""),
        ({"when_condition": "engagement >>= 2"}, "when_condition", ""),
        ({"frequency": "every", "frequency_every": "weekly"}, "frequency", "duration"),
        ({"trigger": "scroll", "trigger_value": "150"}, "trigger_value", "percent"),
        ({"id": "new"}, "id", "console path"),
        ({"kind": "content"}, "slot", "required"),
    ],
)
async def test_errors_sit_next_to_their_field_with_the_input_kept(
    server: Server, changes: dict[str, str], field: str, message: str
) -> None:
    headers, csrf = await marketer(server)
    values = await editor(server, headers, "sales-popup")
    before = source_of(server)
    refused = await post(server, headers, "/admin/campaigns/sales-popup", {**values, **changes, "csrf": csrf})
    assert refused.status_code == 400, refused.text
    assert source_of(server) == before
    error = re.search(rf'<p id="e-{field}" class="error">([^<]*)</p>', refused.text)
    assert error is not None and message in html.unescape(error.group(1)), refused.text
    assert re.search(rf'name="{field}"[^>]*aria-describedby="e-{field}', refused.text)
    kept = inputs(refused.text)
    for name, value in changes.items():
        assert kept[name] == value


async def test_a_stale_save_keeps_the_input_and_says_so(server: Server) -> None:
    headers, csrf = await marketer(server)
    values = await editor(server, headers, "medical-chat")
    # Someone else publishes in between (another campaign).
    other = await editor(server, headers, "newsletter-banner")
    assert (
        await post(server, headers, "/admin/campaigns/newsletter-banner", {**other, "priority": "2", "csrf": csrf})
    ).status_code == 303
    after_other = source_of(server)
    mine = {**values, "opener": "Bonjour, une question ?", "csrf": csrf}
    stale = await post(server, headers, "/admin/campaigns/medical-chat", mine)
    assert stale.status_code == 409
    assert "published by someone else" in stale.text and source_of(server) == after_other
    kept = inputs(stale.text)
    assert kept["opener"] == "Bonjour, une question ?"
    # The form now carries the newest version: saving again publishes over the other change.
    assert (await post(server, headers, "/admin/campaigns/medical-chat", kept | {"csrf": csrf})).status_code == 303
    tables = campaign_tables(source_of(server))
    assert (
        tables["medical-chat"]["opener"] == "Bonjour, une question ?" and tables["newsletter-banner"]["priority"] == 2
    )


async def test_the_preview_button_rerenders_with_the_draft_and_saves_nothing(server: Server) -> None:
    headers, csrf = await marketer(server)
    values = await editor(server, headers, "sales-popup")
    before = source_of(server)
    shown = await post(
        server,
        headers,
        "/admin/campaigns/sales-popup",
        {**values, "title": "Brouillon", "action": "preview", "csrf": csrf},
    )
    assert shown.status_code == 200 and source_of(server) == before
    frame = re.search(r'<iframe id="campaign-preview"[^>]*sandbox="allow-scripts" src="([^"]+)"', shown.text)
    assert frame is not None and "title=Brouillon" in html.unescape(frame.group(1))


async def test_the_preview_page_runs_the_beacon_on_the_draft_and_nothing_else(server: Server) -> None:
    headers, _ = await marketer(server)
    values = await editor(server, headers, "sales-popup")
    page = await server.http.get(
        "/admin/campaigns/preview", params={**values, "site": "demo", "lang": "fr"}, headers=headers
    )
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "connect-src 'none'" in policy and "frame-ancestors 'self'" in policy and "script-src 'self'" in policy
    assert '<html lang="fr">' in page.text
    found = re.search(r'<script src="/t.js" data-preview="([^"]+)"></script>', page.text)
    assert found is not None
    import orjson

    decision = orjson.loads(html.unescape(found.group(1)))
    assert decision["campaign"] == "sales-popup" and decision["kind"] == "popup"
    assert decision["form"]["fields"][0] == {"name": "email", "label": "E-mail professionnel"}
    broken = await server.http.get(
        "/admin/campaigns/preview", params={"kind": "banner", "site": "demo"}, headers=headers
    )
    assert "Nothing to preview yet" in broken.text and "/t.js" not in broken.text


async def test_who_would_see_it_counts_stored_state_and_names_what_needs_a_visit(server: Server) -> None:
    await marc_journey(server)  # identified, 13
    anonymous = server.beacon()  # the same path without the form: 13, anonymous
    await anonymous.download("/demo/files/livre-blanc-a.pdf")
    await anonymous.download("/demo/files/livre-blanc-b.pdf")
    for slug in ("precision", "controle", "service"):
        await anonymous.page(f"/demo/blog/qualite/{slug}")
    await server.beacon().page("/demo/")  # 0: not in the audience
    headers, _ = await marketer(server)
    page = (await server.http.get("/admin/campaigns/sales-popup", headers=headers)).text
    assert '<dd id="audience-people">1</dd>' in page and '<dd id="audience-anonymous">1</dd>' in page
    assert "marc@example.com" in page and "Anonymous visitor #" in page
    assert "It also depends on the page URL, which only a visit tells" in page
    banner = (await server.http.get("/admin/campaigns/newsletter-banner", headers=headers)).text
    assert "a returning visit" in banner
    assert '<dd id="audience-anonymous">1</dd>' in banner  # the visitor at 0 (engagement <= 7)


async def test_who_would_see_it_follows_the_draft_and_says_at_least_past_the_cap(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    await marc_journey(server)
    await server.beacon().page("/demo/")
    headers, csrf = await marketer(server)
    values = await editor(server, headers, "sales-popup")
    draft = {**values, "score_engagement": ">= 0", "when_url": "", "action": "preview", "csrf": csrf}
    shown = (await post(server, headers, "/admin/campaigns/sales-popup", draft)).text
    assert '<dd id="audience-people">1</dd>' in shown and '<dd id="audience-anonymous">1</dd>' in shown
    assert "only a visit tells" not in shown
    monkeypatch.setattr("tracker.services.campaigns.AUDIENCE_SCAN", 1)
    capped = (await post(server, headers, "/admin/campaigns/sales-popup", draft)).text
    assert "Only the 1 most recently seen were checked." in capped
    assert re.search(r'<dd id="audience-anonymous">at least 1</dd>', capped)


async def test_the_audience_block_alone_for_htmx(server: Server) -> None:
    await marc_journey(server)
    headers, _ = await marketer(server)
    wanted = {"site": "demo", "kind": "popup", "score_engagement": ">= 13", "when_stage_sql": "on"}
    block = await server.http.get("/admin/campaigns/audience", params=wanted, headers=headers)
    assert block.status_code == 200 and "<html" not in block.text
    assert '<dd id="audience-people">1</dd>' in block.text and "only a visit tells" not in block.text
    wanted["score_engagement"] = "> 13"
    block = await server.http.get("/admin/campaigns/audience", params=wanted, headers=headers)
    assert '<dd id="audience-people">0</dd>' in block.text
    wanted["score_engagement"] = "~("
    block = await server.http.get("/admin/campaigns/audience", params=wanted, headers=headers)
    assert "Fix the targeting to count who it reaches." in block.text


async def test_editing_a_campaign_deleted_meanwhile_keeps_the_input_as_a_new_one(server: Server) -> None:
    headers, csrf = await marketer(server)
    values = await editor(server, headers, "medical-chat")
    version = values["base_version"]
    deleted = await post(
        server, headers, "/admin/campaigns/medical-chat/delete", {"csrf": csrf, "base_version": version}
    )
    assert deleted.status_code == 303
    mine = {**values, "opener": "Une question ?", "csrf": csrf}
    kept = await post(server, headers, "/admin/campaigns/medical-chat", mine)
    assert kept.status_code == 409 and "deleted meanwhile" in kept.text
    again = inputs(kept.text)
    assert again["opener"] == "Une question ?" and 'action="/admin/campaigns/new"' in kept.text
    assert (await post(server, headers, "/admin/campaigns/new", {**again, "csrf": csrf})).status_code == 303
    assert campaign_tables(source_of(server))["medical-chat"]["opener"] == "Une question ?"


async def test_a_campaign_targeting_grades_keeps_them_through_the_editor(server: Server) -> None:
    banner = 'returning = true\nscores = { engagement = "<= 7" }'
    assert banner in source_of(server)
    graded = source_of(server).replace(banner, banner + '\ngrade = ["A2", "C2"]')
    graded += '\n[grade]\nfit = "fit"\nengagement = "engagement"\n'
    await server.load_programme(graded + "fit_bands = { A = 10, C = 0 }\nengagement_bands = { 1 = 12, 2 = 0 }\n")
    headers, csrf = await marketer(server)
    values = await editor(server, headers, "newsletter-banner")
    assert values["when_grade"] == '["A2", "C2"]'
    saved = await post(server, headers, "/admin/campaigns/newsletter-banner", {**values, "csrf": csrf, "priority": "2"})
    assert saved.status_code == 303, saved.text
    table = next(t for t in tomllib.loads(source_of(server))["campaigns"] if t["id"] == "newsletter-banner")
    assert table["priority"] == 2 and table["when"]["grade"] == ["A2", "C2"]
    refused = await post(
        server, headers, "/admin/campaigns/newsletter-banner", {**values, "csrf": csrf, "when_grade": "Z9"}
    )
    assert refused.status_code == 400 and 'id="e-when_grade" class="error">expected one or a list of A1' in refused.text
