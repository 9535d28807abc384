"""The dashboard at /admin/ (tracker.web.admin.dashboard): every role, per site, in two languages."""

from __future__ import annotations

import re

from tracker.services.abuse import INTERNAL
from tracker.web.admin.session import COOKIE

from .conftest import SEED_GRID, Server
from .test_admin import session_of, sign_in, user
from .test_ingest import marc_journey


async def _set_user(server: Server, email: str, column: str, value: str) -> None:
    assert column in ("owner", "timezone", "locale")
    await server.runtime.store.write(
        lambda q: q.conn.execute(f"UPDATE users SET {column} = ? WHERE email = ?", value, email)
    )


def figure(page: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', page)
    assert found, f"no figure {name}"
    return found.group(1)


async def test_every_role_sees_the_sites_numbers(server: Server) -> None:
    await marc_journey(server)
    elodie = server.beacon()
    await elodie.download("/demo/files/livre-blanc-b.pdf")
    await elodie.form("newsletter", email="elodie@example.com")
    server.clock.advance(3600)
    for role in ("admin", "marketing", "sales"):
        page = await server.http.get("/admin/", headers=await session_of(server, role))
        assert page.status_code == 200, page.text
        text = page.text
        assert '<td class="num" data-stage="sql">1</td>' in text
        assert '<td class="num" data-stage="known">1</td>' in text
        assert (figure(text, "sql-today"), figure(text, "sql-week"), figure(text, "mql-week")) == ("1", "1", "1")
        assert figure(text, "active") == "0"  # an hour since anyone came
        assert "<code>wp-b</code>" in text and "/demo/files/livre-blanc-a.pdf" in text
        # Charts are SVG with a title each, drawn without any inline style.
        assert text.count('role="img"') == 2 and "<title" in text
        assert "style=" not in text
        server.clock.advance(1)


async def test_visitors_active_in_the_last_five_minutes(server: Server) -> None:
    headers = await session_of(server, "marketing")
    for _ in range(3):
        await server.beacon().page("/demo/")
    server.clock.advance(4 * 60)
    await server.beacon().page("/demo/tarifs")
    assert figure((await server.http.get("/admin/", headers=headers)).text, "active") == "4"
    server.clock.advance(2 * 60)
    assert figure((await server.http.get("/admin/", headers=headers)).text, "active") == "1"


async def test_links_follow_the_role(server: Server) -> None:
    sales = await session_of(server, "sales")
    page = (await server.http.get("/admin/", headers=sales)).text
    assert "stage=sql" in page and "My leads" not in page and "/admin/settings" in page
    await _set_user(server, "sales@example.com", "owner", "chloe")
    page = (await server.http.get("/admin/", headers=sales)).text
    assert 'href="/admin/leads?site=demo&amp;owner=chloe">My leads<' in page
    marketing = (await server.http.get("/admin/", headers=await session_of(server, "marketing"))).text
    assert 'href="/admin/programme?site=demo"' in marketing and 'href="/admin/campaigns?site=demo"' in marketing
    assert "My leads" not in marketing and 'href="/admin/users"' not in marketing
    admin = (await server.http.get("/admin/", headers=await session_of(server, "admin"))).text
    assert 'href="/admin/users"' in admin and 'href="/admin/audit"' in admin


async def test_site_picker_shows_each_sites_own_numbers(server: Server) -> None:
    await server.load_programme(SEED_GRID, site="other")
    await marc_journey(server)
    headers = await session_of(server, "admin")
    demo = (await server.http.get("/admin/", headers=headers)).text
    assert '<select id="site" name="site">' in demo and '<option value="demo" selected>' in demo
    assert '<td class="num" data-stage="sql">1</td>' in demo
    other = (await server.http.get("/admin/?site=other", headers=headers)).text
    assert '<option value="other" selected>' in other and '<td class="num" data-stage="sql">0</td>' in other
    missing = await server.http.get("/admin/?site=nope", headers=headers)
    assert missing.status_code == 404 and "no site &#39;nope&#39;" in missing.text


async def test_ignored_traffic_per_day_includes_unflushed_counts(server: Server) -> None:
    headers = await session_of(server, "marketing")
    bot = server.beacon(user_agent="Googlebot/2.1 (+http://www.google.com/bot.html)")
    await bot.send({"type": "page", "url": "http://shop.test/demo/"}, {"type": "page", "url": "http://shop.test/"})
    site = server.runtime.sites.get("demo")
    assert site is not None
    await server.runtime.store.write(lambda q: q.add_ignored_traffic([(site.id, "2025-12-31", INTERNAL, 2, 7)]))
    page = (await server.http.get("/admin/", headers=headers)).text
    assert "9 in the last 14 days" in page  # 2 bot events not flushed yet + 7 internal yesterday
    assert re.search(r"Jan 1 · Bots: 2</title>", page) and re.search(r"Dec 31 · Internal: 7</title>", page)


async def test_french_and_the_readers_time_zone(server: Server) -> None:
    # Marc becomes SQL at 00:30 UTC on 1 January, 19:30 on 31 December in New York: at 05:30 UTC
    # that is "today" for a reader in UTC, "yesterday" (and still this week) in New York.
    server.clock.advance(30 * 60)
    await marc_journey(server)
    server.clock.advance(5 * 3600)
    email = await user(server, "sales", "vendeur@example.com")
    signed = await sign_in(server, email)
    headers = {"cookie": f"{COOKIE}={signed.cookies[COOKIE]}"}
    page = (await server.http.get("/admin/", headers={**headers, "accept-language": "fr"})).text
    assert "<h1>Tableau de bord" in page and "Nouveaux SQL aujourd'hui" in page
    assert figure(page, "sql-today") == "1"
    await _set_user(server, email, "timezone", "America/New_York")
    page = (await server.http.get("/admin/", headers=headers)).text
    assert figure(page, "sql-today") == "0" and figure(page, "sql-week") == "1"
