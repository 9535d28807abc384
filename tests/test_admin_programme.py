"""The console's programme pages (web/admin/programme_pages.py, programme_edit.py): reading, versions
and diffs, the editor's forms on the draft, publishing, stale and threshold refusals, rollback, import."""

from __future__ import annotations

import re
from html import unescape

import httpx

from tracker.services import programmes

from .conftest import SEED_GRID, Server
from .test_admin import csrf_of, session_of


async def marketing(server: Server, email: str = "marketing@example.com") -> tuple[dict[str, str], str]:
    from .test_admin import sign_in, user

    response = await sign_in(server, await user(server, "marketing", email))
    headers = {"cookie": response.headers["set-cookie"].split(";")[0]}
    return headers, await csrf_of(server, headers)


async def post(server: Server, path: str, headers: dict[str, str], csrf: str, **data: str) -> httpx.Response:
    return await server.http.post(path, headers=headers, data={"csrf": csrf, "site": "demo", **data})


def text_of(response: httpx.Response) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", response.text))


async def test_everyone_reads_the_programme_with_its_version_and_history(server: Server) -> None:
    headers = await session_of(server, "sales")
    page = await server.http.get("/admin/programme", headers=headers)
    assert page.status_code == 200 and "version 1" in page.text and "wp-c" in page.text
    assert "/admin/programme/edit" not in page.text  # sales reads, marketing edits
    versions = await server.http.get("/admin/programme/versions", headers=headers)
    assert versions.status_code == 200 and "<td>command line</td>" in versions.text
    export = await server.http.get("/admin/programme/export?site=demo&n=1", headers=headers)
    assert export.text == SEED_GRID and "demo-programme-v1.toml" in export.headers["content-disposition"]
    assert (await server.http.get("/admin/programme/edit", headers=headers)).status_code == 403


async def test_a_token_edit_is_a_draft_until_published_then_a_version_with_its_diff(server: Server) -> None:
    headers, csrf = await marketing(server)
    saved = await post(server, "/admin/programme/edit/tokens", headers, csrf, **{"token:wp_vision": "15"})
    assert saved.status_code == 303
    page = await server.http.get("/admin/programme/edit?site=demo", headers=headers)
    assert "token wp_vision 12 → 15" in text_of(page) and "Your draft" in page.text
    # Nothing is live yet.
    assert server.runtime.sites.get("demo").programme.scoring.tokens["wp_vision"] == 12  # type: ignore[union-attr]
    source = re.search(r'name="source" value="([^"]*)"', page.text)
    assert source is not None
    published = await post(
        server,
        "/admin/programme/publish",
        headers,
        csrf,
        source=unescape(source.group(1)),
        base_version="1",
        comment="C is worth more",
    )
    assert published.status_code == 303 and published.headers["location"].endswith("n=2")
    assert server.runtime.sites.get("demo").programme.scoring.tokens["wp_vision"] == 15  # type: ignore[union-attr]
    version = await server.http.get(published.headers["location"], headers=headers)
    assert "rule wp-c: points 12 → 15" in text_of(version) and 'class="diff-add"' in version.text
    assert "C is worth more" in version.text
    user = await server.runtime.store.read(lambda q: q.user_by_email("marketing@example.com"))
    audit = await server.runtime.store.read(lambda q: q.audit_entries(1, 1))
    assert user is not None and (audit[0]["actor"], audit[0]["detail"]["comment"]) == (
        f"user:{user.id}",
        "C is worth more",
    )
    # The draft is gone: the editor starts from version 2.
    assert "from version 2" in (await server.http.get("/admin/programme/edit", headers=headers)).text


async def test_bad_input_comes_back_beside_its_field_and_changes_nothing(server: Server) -> None:
    headers, csrf = await marketing(server)
    page = await post(server, "/admin/programme/edit/tokens", headers, csrf, **{"token:wp_vision": "douze"})
    assert 'aria-describedby="token-3-error"' in page.text and 'value="douze"' in page.text
    broken = SEED_GRID.replace('points = "wp_vision"', 'points = "wp_visio"')
    page = await post(server, "/admin/programme/edit/toml", headers, csrf, source=broken)
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if '"wp_visio"' in text)
    assert f"Line {line}" in page.text and "unknown token" in page.text and "wp_visio" in page.text
    rule = await post(
        server,
        "/admin/programme/rule",
        headers,
        csrf,
        id="new",
        score="engagement",
        points="3",
        limit="soon",
        when_type="page",
        action="save",
    )
    assert 'id="limit-error"' in rule.text and 'value="soon"' in rule.text
    user = await server.runtime.store.read(lambda q: q.user_by_email("marketing@example.com"))
    assert user is not None
    assert await programmes.draft(server.runtime.store, user.id, 1) is None


async def test_the_rule_editor_builds_the_when_keys(server: Server) -> None:
    headers, csrf = await marketing(server)
    form = {
        "id": "big-printer",
        "score": "fit",
        "points": "wp_choose",
        "limit": "3/1d",
        "when_type": "page, view_product",
        "when_url": "/demo/produits/*",
        "when_visit": ">= 2",
        "prop_key_0": "price",
        "prop_value_0": ">= 5000",
        "action": "save",
    }
    assert (await post(server, "/admin/programme/rule", headers, csrf, **form)).status_code == 303
    page = await server.http.get("/admin/programme/rule?site=demo&id=big-printer", headers=headers)
    assert 'value="page, view_product"' in page.text and 'value="&gt;= 5000"' in page.text
    editor = await server.http.get("/admin/programme/edit", headers=headers)
    assert "rule big-printer added" in editor.text
    deleted = await post(server, "/admin/programme/rule", headers, csrf, original="wp-a", action="delete")
    assert deleted.status_code == 303
    assert "rule wp-a removed" in (await server.http.get("/admin/programme/edit", headers=headers)).text


async def test_stale_publish_names_the_other_publisher_and_keeps_the_text(server: Server) -> None:
    anne, anne_csrf = await marketing(server, "anne@example.com")
    bob, bob_csrf = await marketing(server, "bob@example.com")
    first = SEED_GRID.replace("wp_vision = 12", "wp_vision = 15")
    second = SEED_GRID.replace("wp_choose = 5", "wp_choose = 6")
    done = await post(server, "/admin/programme/publish", anne, anne_csrf, source=first, base_version="1", comment="a")
    assert done.status_code == 303
    crlf = second.replace("\n", "\r\n")  # as browsers send a textarea
    refused = await post(server, "/admin/programme/publish", bob, bob_csrf, source=crlf, base_version="1", comment="b")
    assert "version 2 was published by anne@example.com" in text_of(refused)
    assert "wp_choose = 6" in refused.text  # kept in the form and as Bob's draft, with the file's own line ends
    user = await server.runtime.store.read(lambda q: q.user_by_email("bob@example.com"))
    assert user is not None
    kept = await programmes.draft(server.runtime.store, user.id, 1)
    assert kept is not None and (kept.source, kept.base_version) == (second, 1)
    assert (await programmes.history(server.runtime.store, "demo")).current == 2


async def test_a_threshold_change_points_at_proposals_and_can_publish_the_rest(server: Server) -> None:
    headers, csrf = await marketing(server)
    source = SEED_GRID.replace("sql = 12 ", "sql = 14 ").replace("wp_vision = 12", "wp_vision = 15")
    refused = await post(
        server, "/admin/programme/publish", headers, csrf, source=source, base_version="1", comment="x"
    )
    assert "engagement: sql 12 → 14 needs marketing and sales to agree" in text_of(refused)
    assert 'href="/admin/thresholds?site=demo"' in refused.text
    kept = await post(
        server,
        "/admin/programme/publish",
        headers,
        csrf,
        source=source,
        base_version="1",
        comment="x",
        keep_thresholds="1",
    )
    assert kept.status_code == 303
    programme = server.runtime.sites.get("demo").programme  # type: ignore[union-attr]
    assert programme.thresholds()["engagement"] == (8.0, 12.0) and programme.scoring.tokens["wp_vision"] == 15


async def test_rollback_and_import(server: Server) -> None:
    headers, csrf = await marketing(server)
    await programmes.publish(
        server.runtime.store,
        "demo",
        SEED_GRID.replace("wp_vision = 12", "wp_vision = 15"),
        base_version=1,
        author="anne@example.com",
        comment="up",
        now=server.clock(),
    )
    back = await post(server, "/admin/programme/rollback", headers, csrf, n="1", base_version="2", comment="too much")
    assert back.status_code == 303 and back.headers["location"].endswith("n=3")
    history = await programmes.history(server.runtime.store, "demo")
    assert history.site.programme == SEED_GRID and history.versions[0].origin == "rollback"
    imported = await post(server, "/admin/programme/import", headers, csrf, source="[tokens]\nx = 1\n")
    assert imported.status_code == 303 and imported.headers["location"].endswith("saved=imported")
    bad = await post(server, "/admin/programme/import", headers, csrf, source="[tokens\n")
    assert 'aria-describedby="import-error"' in bad.text and "[tokens" in bad.text


async def test_clone_publishes_this_version_on_another_site(server: Server) -> None:
    await server.load_programme("[scores.engagement]\nsql = 20\n", site="acme")
    headers, csrf = await marketing(server)
    # The seed's thresholds differ from acme's: that is for marketing and sales to agree on.
    disagreed = await post(server, "/admin/programme/clone", headers, csrf, n="1", target="acme", comment="x")
    assert "engagement: sql 20 → 12" in disagreed.text and "/admin/thresholds?site=acme" in disagreed.text
    await server.load_programme("", site="acme")
    refused = await post(server, "/admin/programme/clone", headers, csrf, n="1", target="demo", comment="x")
    assert 'id="clone-error"' in refused.text
    cloned = await post(server, "/admin/programme/clone", headers, csrf, n="1", target="acme", comment="same grid")
    assert cloned.status_code == 303 and "site=acme" in cloned.headers["location"]
    assert server.runtime.sites.get("acme").programme.source == SEED_GRID  # type: ignore[union-attr]


async def test_the_pages_speak_french(server: Server) -> None:
    headers, _ = await marketing(server)
    french = {**headers, "accept-language": "fr-FR,fr;q=0.9"}
    page = await server.http.get("/admin/programme/edit", headers=french)
    assert "Modifier le programme" in page.text and "Publier en gardant" not in page.text
    assert "Enregistrer les jetons" in page.text and "wp_vision" in page.text  # data stays as written
    versions = await server.http.get("/admin/programme/versions", headers=french)
    assert "Versions du programme" in versions.text


async def test_a_toml_file_is_uploaded_as_the_draft(server: Server) -> None:
    headers, csrf = await marketing(server)
    upload = SEED_GRID.replace("wp_vision = 12", "wp_vision = 13")
    response = await server.http.post(
        "/admin/programme/import",
        headers=headers,
        data={"csrf": csrf, "site": "demo", "source": ""},
        files={"file": ("grid.toml", upload.encode(), "application/toml")},
    )
    assert response.status_code == 303, response.text
    editor = await server.http.get("/admin/programme/edit", headers=headers)
    assert "token wp_vision 12 → 13" in text_of(editor)


async def test_the_tables_show_goals_limits_resets_and_the_grade_in_words(server: Server) -> None:
    await server.load_programme(
        SEED_GRID.replace("mql = 8\n", 'mql = 8\nmax = 100\non_outcome = { lost = "=0", won = "+5" }\n', 1)
        + '[goals]\nwon = ["Order Completed"]\nmeeting = ["Demo Booked", { campaign = "sales-popup" }]\n'
        + '[grade]\nfit = "fit"\nengagement = "engagement"\n'
        + "fit_bands = { A = 60, B = 30, C = 0 }\nengagement_bands = { 1 = 50, 2 = 20, 3 = 0 }\n"
    )
    headers = await session_of(server, "sales")
    page = text_of(await server.http.get("/admin/programme", headers=headers))
    assert re.search(r"engagement\s+8\s+12\s+−50 % after 30d without scoring\s+100\s+lost: = 0; won: \+5", page)
    assert re.search(r"won\s+event Order Completed", page)
    assert re.search(r"meeting\s+event Demo Booked; conversion on campaign sales-popup", page)
    assert "The letter comes from fit, the number from engagement" in page and re.search(r"A\s+fit ≥ 60", page)
    french = text_of(await server.http.get("/admin/programme", headers={**headers, "accept-language": "fr"}))
    assert "Objectifs de conversion" in french and "perdu : = 0" in french and "Tranche" in french
    await server.load_programme(SEED_GRID)
    seed = text_of(await server.http.get("/admin/programme", headers=headers))
    assert "No goal: outcomes come from sales only." in seed and "No grade." in seed and "no limit" in seed
