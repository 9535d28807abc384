"""The store's side of "who would see it now": a site's people, most recent first, bots left out."""

from __future__ import annotations

from .conftest import Server


async def test_candidates_are_the_sites_humans_most_recent_first(server: Server) -> None:
    first, second, bot = server.beacon(), server.beacon(), server.beacon()
    await first.page("/demo/")
    server.clock.advance(60)
    await second.page("/demo/")
    await bot.page("/demo/")
    assert bot.vid is not None
    store = server.runtime.store
    site = server.runtime.sites.get("demo")
    assert site is not None
    bot_person = (await server.api(f"/api/visitors/{bot.vid}"))["person_id"]
    visitors = await store.read(lambda q: q.conn.fetchall("SELECT id FROM visitors WHERE person_id = ?", bot_person))
    await store.write(lambda q: q.flag_bot(visitors[0]["id"], "too-fast"))
    people = await store.read(lambda q: q.audience_candidates(site.id, 10))
    ids = [(await server.api(f"/api/visitors/{b.vid}"))["person_id"] for b in (second, first)]
    assert [p.id for p in people] == ids
    assert [p.id for p in await store.read(lambda q: q.audience_candidates(site.id, 1))] == ids[:1]
