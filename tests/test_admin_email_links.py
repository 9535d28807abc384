"""The console's e-mail side (tracker/web/admin/email_links.py and the lead timeline): marketing
makes a link for one known person, errors named by field, and the lead page tells e-mail clicks and
opens in words, with why one was flagged."""

from __future__ import annotations

import html
import re

from .conftest import BASE, Server
from .test_admin import csrf_of, session_of
from .test_email import APPLE_PROXY, PROGRAMME, TARGET, follow, known


async def test_marketing_makes_a_link_that_works(server: Server) -> None:
    await server.load_programme(PROGRAMME, origins=[BASE])
    await known(server, "marc@acme.fr")
    headers = await session_of(server, "marketing")
    page = await server.http.get("/admin/email-links", headers=headers)
    assert page.status_code == 200 and 'href="/admin/email-links"' in page.text
    data = {"csrf": await csrf_of(server, headers), "site": "demo", "campaign": "newsletter-nov"}
    made = await server.http.post(
        "/admin/email-links", headers=headers, data={**data, "email": "marc@acme.fr", "url": TARGET}
    )
    assert made.status_code == 200, made.text
    link = re.search(r'id="click-link"[^>]*value="([^"]+)"', made.text)
    assert link is not None and link.group(1).startswith(BASE + "/r/")
    assert "/o/" in made.text and ".gif" in made.text
    server.clock.advance(3600)
    response = await follow(server, html.unescape(link.group(1)))
    assert response.headers["location"] == TARGET


async def test_bad_fields_are_named_next_to_them(server: Server) -> None:
    await server.load_programme(PROGRAMME, origins=[BASE])
    headers = await session_of(server, "marketing")
    data = {"csrf": await csrf_of(server, headers), "site": "demo", "campaign": "c"}
    for field, value, extra in (
        ("url", "//evil.example", {"email": "marc@acme.fr"}),
        ("email", "nobody@acme.fr", {"url": TARGET}),
        ("campaign", "", {"email": "marc@acme.fr", "url": TARGET}),
        ("site", "nowhere", {"email": "marc@acme.fr", "url": TARGET}),
    ):
        response = await server.http.post("/admin/email-links", headers=headers, data={**data, **extra, field: value})
        assert response.status_code == 400
        assert f'id="{field}-error"' in response.text, field
    sales = await session_of(server, "sales")
    assert (await server.http.get("/admin/email-links", headers=sales)).status_code == 403


async def test_the_lead_page_tells_email_clicks_and_opens_in_french(server: Server) -> None:
    await server.load_programme(PROGRAMME, origins=[BASE])
    _, marc = await known(server, "marc@acme.fr")
    key = await server.key("marketing")
    body = {"campaign": "newsletter-nov", "urls": [TARGET], "recipients": ["marc@acme.fr"]}
    row = (await server.http.post("/api/email-links", json=body, headers={"authorization": f"Bearer {key}"})).json()
    await follow(server, row["links"][0]["open"], agent=APPLE_PROXY)
    server.clock.advance(3600)
    await follow(server, row["links"][0]["clicks"][0])
    headers = {**await session_of(server, "sales"), "accept-language": "fr"}
    page = html.unescape((await server.http.get(f"/admin/leads/{marc}", headers=headers)).text)
    assert "Clic dans l'e-mail newsletter-nov" in re.sub(r"<[^>]+>|\s+", " ", page).replace("  ", " ")
    assert "E-mail ouvert" in page and "signalé : préchargé par un proxy de confidentialité" in page
