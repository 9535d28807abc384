"""The console's lead list (tracker.web.admin.leads) and lead page (tracker.web.admin.lead_page):
filters shared with the API, "my leads" and "new since my last visit", the lead understood at a
glance, outcomes and reassignment from the page, and visitor-typed text rendered as text."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

import httpx

from .conftest import BASE, SEED_GRID, Server
from .test_admin import csrf_of, session_of, session_of_again
from .test_ingest import marc_journey


async def lead_id(server: Server, email: str) -> int:
    found = await server.api("/api/leads", q=email, stage="anonymous,known,mql,sql")
    assert found["count"] == 1, found
    return int(found["leads"][0]["id"])


async def post(server: Server, path: str, headers: dict[str, str], **data: str) -> httpx.Response:
    return await server.http.post(path, headers=headers, data={"csrf": await csrf_of(server, headers), **data})


def links(page: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'href="([^"]*)"', page)]


async def test_sales_reads_marcs_lead_at_a_glance_and_downloads_the_csv(server: Server) -> None:
    await marc_journey(server)
    headers = await session_of(server, "sales")
    listing = await server.http.get("/admin/leads", params={"stage": "sql"}, headers=headers)
    assert listing.status_code == 200 and "marc@example.com" in listing.text and "Atelier Marc" in listing.text
    marc = await lead_id(server, "marc@example.com")
    page = await server.http.get(f"/admin/leads/{marc}", headers=headers)
    assert page.status_code == 200
    assert 'data-score="engagement">13<' in page.text
    # The chart: inline SVG with its title, dashed threshold lines, and no inline style anywhere.
    assert '<svg class="score-chart" data-score="engagement"' in page.text
    assert "<title" in page.text and 'stroke-dasharray="6 4"' in page.text and "style=" not in page.text
    # The ledger in words, with the rules' descriptions and the moment each happened.
    assert re.search(r"\+2</strong>\s*Livre blanc A", page.text)
    assert re.search(r"\+5</strong>\s*Livre blanc B", page.text) and "Jan 1 00:00" in page.text
    # The timeline grouped by visit, with the device and the form's fields as text.
    assert "Visit 1" in page.text and "Chrome" in page.text and "/demo/blog/qualite/service" in page.text
    assert "popup-demo" in page.text
    download = next(link for link in links(listing.text) if link.startswith("/api/exports/leads.csv?"))
    assert "stage=sql" in download
    exported = await server.http.get(download, headers=headers)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["email"] for row in rows] == ["marc@example.com"] and rows[0]["outcome"] == ""
    audit = await server.runtime.store.read(lambda q: q.audit_entries(server.runtime.sites.get("demo").id, 5))  # type: ignore[union-attr]
    assert audit[0]["actor"].startswith("user:") and audit[0]["action"] == "export_leads"
    assert audit[0]["detail"]["stages"] == ["sql"]
    marketing = await session_of(server, "marketing")
    assert (await server.http.get("/api/exports/leads.csv", headers=marketing)).status_code == 403
    assert "Download CSV" not in (await server.http.get("/admin/leads", headers=marketing)).text


async def test_the_lead_page_in_french(server: Server) -> None:
    await marc_journey(server)
    marc = await lead_id(server, "marc@example.com")
    headers = {**(await session_of(server, "sales")), "accept-language": "fr-FR,fr;q=0.9"}
    await post(server, f"/admin/leads/{marc}/outcome", headers, kind="won", value="12500")
    page = (await server.http.get(f"/admin/leads/{marc}", headers=headers)).text
    assert '<html lang="fr">' in page and "D’où viennent ces scores" in page
    assert re.search(r"\+2</strong>\s*Livre blanc A", page) and "1 janv. 00:00" in page
    assert "Enregistré par les ventes" in page and "gagné" in page and "12\u202f500" in page
    listing = (await server.http.get("/admin/leads", headers=headers)).text
    assert "E-mail ou entreprise" in listing and "gagné" in listing


async def three_leads(server: Server) -> None:
    await marc_journey(server)
    elodie = server.beacon()
    await elodie.download("/demo/files/livre-blanc-b.pdf")
    await elodie.form("newsletter", email="elodie@example.com", company="Élodie & Fils")
    capucine = server.beacon()
    await capucine.form("newsletter", email="capucine@example.com", company="Imprimerie 100%_Nord")
    await capucine.download("/demo/files/livre-blanc-c.pdf")
    for slug in ("a", "b", "c"):
        await capucine.page(f"/demo/blog/qualite/{slug}")


def emails(page: str) -> list[str]:
    return re.findall(r'<a href="/admin/leads/\d+">([^<]+)</a>', page)


async def test_the_list_filters_like_the_api_does(server: Server) -> None:
    await three_leads(server)
    headers = await session_of(server, "sales")

    async def listed(**params: Any) -> list[str]:
        response = await server.http.get("/admin/leads", params=params, headers=headers)
        assert response.status_code == 200, response.text
        api = await server.api("/api/leads", **params)
        assert [lead["email"] for lead in api["leads"]] == emails(response.text)
        return emails(response.text)

    assert await listed() == ["capucine@example.com", "marc@example.com", "elodie@example.com"]
    assert await listed(stage="known") == ["elodie@example.com"]
    assert await listed(min_score="6", max_score="15") == ["marc@example.com"]
    assert await listed(q="ATELIER") == ["marc@example.com"]  # the company, any case
    assert await listed(q="élodie & f") == ["elodie@example.com"]  # beyond ASCII, & is text
    assert await listed(q="100%_n") == ["capucine@example.com"]  # % and _ are not wildcards
    assert await listed(q="100%x") == []
    assert await listed(q="capucine@") == ["capucine@example.com"]
    routed = await server.api("/api/leads", stage="sql")
    queue = routed["leads"][0]["routing"]["queue"]
    owner = routed["leads"][0]["routing"]["owner"]
    assert "capucine@example.com" in await listed(queue=queue, owner=owner)
    assert await listed(queue="no-such-queue") == []
    # Keyset pages: one lead a page, each "Next page" link to the following one.
    seen, url = [], "/admin/leads?limit=1"
    while url:
        response = await server.http.get(url, headers=headers)
        seen += emails(response.text)
        found = [link for link in links(response.text) if "cursor=" in link]
        url = found[0] if found else ""
    assert seen == ["capucine@example.com", "marc@example.com", "elodie@example.com"]


async def test_a_bad_filter_comes_back_beside_its_field_with_the_input_kept(server: Server) -> None:
    headers = await session_of(server, "sales")
    response = await server.http.get("/admin/leads", params={"min_score": "lots", "q": "marc"}, headers=headers)
    assert response.status_code == 400
    assert 'aria-describedby="min_score-error"' in response.text and 'id="min_score-error"' in response.text
    assert "min_score must be a number" in response.text and 'value="lots"' in response.text
    assert 'value="marc"' in response.text
    inverted = await server.http.get("/admin/leads", params={"min_score": "9", "max_score": "2"}, headers=headers)
    assert inverted.status_code == 400 and 'id="max_score-error"' in inverted.text


async def test_my_leads_and_new_since_my_last_visit(server: Server) -> None:
    await marc_journey(server)
    headers = await session_of(server, "sales")
    owner = (await server.api("/api/leads", stage="sql"))["leads"][0]["routing"]["owner"]
    user = await server.runtime.store.read(lambda q: q.user_by_email("sales@example.com"))
    assert user is not None and user.leads_seen_at is None
    await server.runtime.store.write(
        lambda q: q.conn.execute("UPDATE users SET owner = ? WHERE id = ?", owner, user.id)
    )
    server.clock.advance(60)
    first = await server.http.get("/admin/leads", headers=headers)
    assert "First visit" in first.text
    mine = next(link for link in links(first.text) if link.startswith("/admin/leads?") and "owner=" in link)
    assert emails((await server.http.get(mine, headers=headers)).text) == ["marc@example.com"]
    server.clock.advance(3600)
    elodie = server.beacon()
    await elodie.form("newsletter", email="elodie@example.com")
    # Same session, same visit: everything is still new.
    assert "First visit" in (await server.http.get("/admin/leads", headers=headers)).text
    server.clock.advance(3600)
    headers = await session_of_again(server, "sales")
    again = await server.http.get("/admin/leads", headers=headers)
    assert emails(again.text) == ["marc@example.com", "elodie@example.com"]
    new = next(link for link in links(again.text) if "new_since=" in link)
    assert emails((await server.http.get(new, headers=headers)).text) == ["elodie@example.com"]
    api = await server.api("/api/leads", new_since=new.split("new_since=")[1].replace("%3A", ":"))
    assert [lead["email"] for lead in api["leads"]] == ["elodie@example.com"]


async def test_an_outcome_recorded_on_the_page_is_in_the_timeline_the_csv_and_the_api(server: Server) -> None:
    await marc_journey(server)
    marc = await lead_id(server, "marc@example.com")
    headers = await session_of(server, "sales")
    bad = await post(server, f"/admin/leads/{marc}/outcome", headers, kind="won", value="", note="keep me")
    assert bad.status_code == 400 and 'id="outcome-value-error"' in bad.text and 'value="keep me"' in bad.text
    assert 'id="kind-won" name="kind" value="won" checked' in bad.text
    server.clock.advance(60)
    done = await post(server, f"/admin/leads/{marc}/outcome", headers, kind="won", value="12 500,50")
    assert done.status_code == 303 and done.headers["location"].startswith(f"/admin/leads/{marc}")
    page = await server.http.get(f"/admin/leads/{marc}", headers=headers)
    assert "Recorded by sales" in page.text and "12,500.5" in page.text
    story = await server.api(f"/api/leads/{marc}")
    assert [(o["kind"], o["value"]) for o in story["outcomes"]] == [("won", 12500.5)]
    assert story["outcomes"][0]["actor"].startswith("user:")
    exported = await server.http.get("/api/exports/leads.csv", headers=headers)
    row = next(csv.DictReader(io.StringIO(exported.text)))
    assert (row["outcome"], row["outcome_value"]) == ("won", "12500.5")
    timeline = await server.http.get("/api/exports/timeline.csv", headers=headers)
    assert any(r["type"] == "outcome" and r["name"] == "won" for r in csv.DictReader(io.StringIO(timeline.text)))
    # Marketing reads the lead but records nothing.
    marketing = await session_of(server, "marketing")
    assert "Record an outcome" not in (await server.http.get(f"/admin/leads/{marc}", headers=marketing)).text
    refused = await post(server, f"/admin/leads/{marc}/outcome", marketing, kind="contacted")
    assert refused.status_code == 403


async def test_reassigning_within_the_routes_and_refusing_a_stale_form(server: Server) -> None:
    await marc_journey(server)
    marc = await lead_id(server, "marc@example.com")
    headers = await session_of(server, "sales")
    before = (await server.api(f"/api/leads/{marc}"))["routing"]
    seen = {"seen_queue": before["queue"], "seen_owner": before["owner"] or ""}
    wrong = await post(server, f"/admin/leads/{marc}/reassign", headers, route="field-sales", owner="chloe", **seen)
    assert wrong.status_code == 400 and "chloe does not serve queue field-sales" in wrong.text
    assert 'id="reassign-owner-error"' in wrong.text
    moved = await post(server, f"/admin/leads/{marc}/reassign", headers, route="field-sales", owner="bastien", **seen)
    assert moved.status_code == 303
    after = (await server.api(f"/api/leads/{marc}"))["routing"]
    assert (after["queue"], after["owner"]) == ("field-sales", "bastien")
    # A second user still looking at the old routing cannot undo that silently.
    stale = await post(server, f"/admin/leads/{marc}/reassign", headers, route="medical-team", owner="", **seen)
    assert stale.status_code == 409 and "routed meanwhile" in stale.text
    assert (await server.api(f"/api/leads/{marc}"))["routing"]["queue"] == "field-sales"
    audit = await server.runtime.store.read(lambda q: q.audit_entries(server.runtime.sites.get("demo").id, 5))  # type: ignore[union-attr]
    assert audit[0]["action"] == "lead_reassign" and audit[0]["detail"]["after"]["owner"] == "bastien"


async def test_older_visits_are_a_page_away(server: Server) -> None:
    marc = server.beacon()
    await marc.form("newsletter", email="marc@example.com")
    for visit in range(20):
        server.clock.advance(3 * 3600)  # a new visit each time
        await marc.page(f"/demo/page-{visit}")
    person = await lead_id(server, "marc@example.com")
    headers = await session_of(server, "sales")
    newest = await server.http.get(f"/admin/leads/{person}", headers=headers)
    assert "/demo/page-19" in newest.text and "/demo/page-0<" not in newest.text
    older = next(link for link in links(newest.text) if "older=" in link)
    page = await server.http.get(f"/admin/leads/{person}{older.split('#')[0]}", headers=headers)
    assert "/demo/page-0<" in page.text and "/demo/page-19" not in page.text
    forged = await server.http.get(f"/admin/leads/{person}?older=nonsense", headers=headers)
    assert forged.status_code == 400


XSS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)")


async def test_everything_a_visitor_typed_renders_as_text(server: Server) -> None:
    script, image, js = XSS
    visitor = server.beacon()
    url = f"{BASE}/demo/?utm_source={script}&utm_campaign={image}"
    await visitor.send({"type": "page", "url": url, "referrer": f"{BASE}/{image}", "props": {"q": script}})
    await visitor.send({"type": "download", "url": f"{BASE}/{js}"})
    fields = {"company": script, "job_title": image, "first_name": js, "message": f"{script}{image}"}
    await visitor.form("contact", email="x+evil@example.com", **fields)
    await visitor.send({"type": "custom", "name": image, "url": f"{BASE}/demo/{script}"})
    for kind in ("impression", "close", "conversion"):
        await visitor.send({"type": kind, "url": f"{BASE}/demo/", "props": {"campaign": script}})
    person = await lead_id(server, "x+evil@example.com")
    # What a CRM sends back is shown the same way.
    key = {"authorization": f"Bearer {await server.key('sales')}"}
    body = {"kind": "lost", "reason": image, "note": script}
    assert (await server.http.post(f"/api/leads/{person}/outcome", json=body, headers=key)).status_code == 201
    headers = await session_of(server, "sales")
    for path in ("/admin/leads", f"/admin/leads?q={script}", f"/admin/leads/{person}"):
        page = (await server.http.get(path, headers=headers)).text
        for payload in (script, image):
            assert payload not in page, (path, payload)
        assert "<script>alert" not in page and "<img src=x" not in page
        assert html.escape(script, quote=False) in page or html.escape(script) in page
        assert not [link for link in links(page) if link.strip().lower().startswith("javascript:")], path


# The seed programme with engagement capped at 15 and reset on lost, and a grade.
GRADED_GRID = (
    SEED_GRID.replace("mql = 8\n", 'mql = 8\nmax = 15\non_outcome = { lost = "=0" }\n', 1)
    + """
[grade]
fit = "fit"
engagement = "engagement"
fit_bands = { A = 10, B = 5, C = 0 }
engagement_bands = { 1 = 15, 2 = 8, 3 = 0 }
"""
)


async def test_the_grade_the_cap_and_an_outcome_reset_in_the_lead_list_and_page(server: Server) -> None:
    await server.load_programme(GRADED_GRID)
    ines = server.beacon()
    for paper in ("c", "a", "b"):  # 12, 14, then +5 capped at 15
        await ines.download(f"/demo/files/livre-blanc-{paper}.pdf")
    await ines.form("newsletter", email="ines@example.com")
    headers = await session_of(server, "sales")
    listing = (await server.http.get("/admin/leads", headers=headers)).text
    assert '<th scope="col">Grade</th>' in listing and 'data-grade="C1">C1<' in listing
    ines_id = await lead_id(server, "ines@example.com")
    page = (await server.http.get(f"/admin/leads/{ines_id}", headers=headers)).text
    assert "grade C1" in page
    assert (await server.api(f"/api/leads/{ines_id}"))["grade"] == "C1"
    assert [lead["grade"] for lead in (await server.api("/api/leads"))["leads"]] == ["C1"]
    assert re.search(r"\+1</strong>\s*Livre blanc B\s*<span class=\"capped\">\(capped at 15\)</span>", page)
    server.clock.advance(60)
    done = await post(server, f"/admin/leads/{ines_id}/outcome", headers, kind="lost", reason="budget")
    assert done.status_code == 303
    page = (await server.http.get(f"/admin/leads/{ines_id}", headers=headers)).text
    assert re.search(r"= 0</strong>\s*Outcome: lost", page) and "grade C3" in page
    french = {**headers, "accept-language": "fr"}
    page = (await server.http.get(f"/admin/leads/{ines_id}", headers=french)).text
    assert "(plafonné à 15)" in page and "note C3" in page
    exported = next(
        csv.DictReader(io.StringIO((await server.http.get("/api/exports/leads.csv", headers=headers)).text))
    )
    assert (exported["email"], exported["grade"], exported["score_engagement"]) == ("ines@example.com", "C3", "0.0")
