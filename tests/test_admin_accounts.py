"""The console's accounts (tracker.web.admin.accounts): the list by score and stage, one account with its
people and their merged timeline, in French for a French reader, and bad filters answered beside the field."""

from __future__ import annotations

import html

from .conftest import SEED_GRID, Server
from .test_admin import session_of
from .test_services_accounts import SECTION


async def test_sales_reads_the_accounts_and_one_account_with_its_people(server: Server) -> None:
    await server.load_programme(SEED_GRID + SECTION.replace("min = 30", "min = 2"))
    marc = server.beacon()
    await marc.download("/demo/files/livre-blanc-a.pdf")
    await marc.form("contact", email="marc@atelier-marc.fr")
    await server.beacon().form("contact", email="sophie@atelier-marc.fr")
    headers = await session_of(server, "sales")
    listing = await server.http.get("/admin/accounts", headers=headers)
    assert listing.status_code == 200
    assert "atelier-marc.fr" in listing.text and "upsell" in listing.text
    account = (await server.api("/api/accounts"))["accounts"][0]["id"]
    assert f'href="/admin/accounts/{account}"' in listing.text
    page = await server.http.get(f"/admin/accounts/{account}", headers=headers)
    text = html.unescape(page.text)
    assert page.status_code == 200
    assert "marc@atelier-marc.fr" in text and "sophie@atelier-marc.fr" in text and "livre-blanc-a.pdf" in text
    # Each person's page links to their company.
    lead = (await server.api("/api/leads", q="sophie@atelier-marc.fr"))["leads"][0]["id"]
    assert f'href="/admin/accounts/{account}"' in (await server.http.get(f"/admin/leads/{lead}", headers=headers)).text
    french = {**headers, "accept-language": "fr-FR,fr;q=0.9"}
    assert "montée en gamme" in html.unescape((await server.http.get("/admin/accounts", headers=french)).text)
    filtered = await server.http.get("/admin/accounts", params={"stage": "at_risk"}, headers=headers)
    assert "atelier-marc.fr" not in filtered.text and "No account matches these filters." in filtered.text


async def test_bad_filters_and_unknown_accounts(server: Server) -> None:
    headers = await session_of(server, "marketing")
    bad = await server.http.get("/admin/accounts", params={"stage": "churned"}, headers=headers)
    assert bad.status_code == 400 and 'id="stage-error"' in bad.text
    assert (await server.http.get("/admin/accounts", params={"min_score": "x"}, headers=headers)).status_code == 400
    assert (await server.http.get("/admin/accounts/987654", headers=headers)).status_code == 404
    assert (await server.http.get("/admin/accounts/nope", headers=headers)).status_code == 404
