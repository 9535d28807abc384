"""services.demo_history: a month of simulated visitors, through the ingest pipeline, written once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tracker.app import DEMO_NAME, DEMO_SITE
from tracker.cli import _with_store
from tracker.cli_demo import demo_history_line
from tracker.config import Settings
from tracker.domain.planted import DEMO_PLAN
from tracker.domain.simulation import CAPUCINE, DAYS, ELODIE, MARC, PEOPLE, SEED, Hit, generate
from tracker.services.demo_history import ensure_demo
from tracker.store import Queries, Store, open_store

from .conftest import SEED_GRID, START, Server
from .test_admin import session_of


async def write(store: Store, now: float = START) -> Any:
    return await ensure_demo(store, DEMO_SITE, DEMO_NAME, SEED_GRID, now)


async def people(store: Store) -> list[tuple[Any, ...]]:
    async def read(q: Queries) -> list[tuple[Any, ...]]:
        rows = await q.conn.fetchall(
            "SELECT p.email, p.stage, s.score, s.value FROM persons p LEFT JOIN person_scores s ON s.person_id = p.id"
        )
        return sorted((tuple(row) for row in rows), key=repr)  # NULLs sort apart on each backend

    return await store.read(read)


def test_the_history_lies_in_the_last_month_with_someone_on_the_site_now() -> None:
    hits = [item for item in generate(START, DEMO_PLAN, seed=SEED).items if isinstance(item, Hit)]
    assert hits[0].ts > START - (DAYS + 1) * 86400 and hits[-1].ts < START
    assert len({hit.device.split(":")[0] for hit in hits}) >= PEOPLE  # the people, those still on the site, a bot
    assert any(START - hit.ts < 300 for hit in hits)  # someone is on the site right now


async def test_written_once_through_the_pipeline(server: Server, tmp_path: Path) -> None:
    assert await server.count("events") == 0  # a --demo app alone writes no history
    written = await write(server.runtime.store)
    assert written is not None and written.people == PEOPLE and written.events > 1000 and written.outcomes > 20
    events = await server.count("events")
    assert await write(server.runtime.store) is None  # already there: nothing more
    assert await server.count("events") == events
    # The same seed and clock give the same people, scores and stages on another store.
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    await other.open()
    try:
        await write(other)
        assert await people(other) == await people(server.runtime.store)
    finally:
        await other.close()


async def test_the_seed_people_and_what_sales_and_marketing_see(server: Server) -> None:
    await write(server.runtime.store)
    site = server.runtime.sites.get(DEMO_SITE)
    assert site is not None
    marc, elodie, capucine = [
        await server.runtime.store.read(lambda q, e=persona.email: q.person_by_email(site.id, e))
        for persona in (MARC, ELODIE, CAPUCINE)
    ]
    assert marc is not None and elodie is not None and capucine is not None
    assert (marc.stage, marc.scoring.values["engagement"]) == ("sql", 13)
    assert (elodie.stage, elodie.scoring.values["engagement"]) == ("known", 5)
    assert (capucine.stage, capucine.scoring.values["engagement"]) == ("sql", 18)
    assert len(await server.runtime.store.read(lambda q: q.visitors_of(marc.id))) == 2  # desktop and phone

    async def tally(q: Queries) -> dict[str, Any]:
        async def rows(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in await q.conn.fetchall(sql)]

        return {
            "stages": dict(await rows("SELECT stage, COUNT(*) FROM persons GROUP BY stage")),
            "owners": await rows("SELECT DISTINCT owner FROM assignments WHERE active = 1 AND owner IS NOT NULL"),
            "actions": dict(await rows("SELECT action, COUNT(*) FROM decisions GROUP BY action")),
            "bots": await rows("SELECT bot FROM visitors WHERE bot IS NOT NULL"),
            "ignored": dict(await rows("SELECT reason, SUM(events) FROM ignored_traffic GROUP BY reason")),
        }

    seen = await server.runtime.store.read(tally)
    assert all(seen["stages"][stage] >= 10 for stage in ("anonymous", "known", "mql", "sql"))
    assert len(seen["owners"]) >= 4  # SQLs routed to owners of several queues
    assert all(seen["actions"].get(action, 0) > 0 for action in ("served", "impression", "close", "conversion"))
    assert seen["bots"] == [("too-fast",)]  # the scraper, caught by its pace
    assert seen["ignored"]["user-agent"] > 0 and seen["ignored"]["internal"] > 0


async def test_every_console_page_has_something_to_show(server: Server) -> None:
    await write(server.runtime.store, server.clock())
    headers = await session_of(server, "admin")
    home = (await server.http.get("/admin/", headers=headers)).text
    for figure in ("mql-week", "sql-week", "active"):
        value = re.search(rf'data-figure="{figure}">(\d+)<', home)
        assert value and int(value.group(1)) > 0, figure
    assert home.count('class="bar series-') > 20 and "Nothing scored this week yet." not in home
    leads = (await server.http.get("/admin/leads", headers=headers)).text
    assert leads.count('<a href="/admin/leads/') == 50 and 'rel="next"' in leads
    site = server.runtime.sites.get(DEMO_SITE)
    assert site is not None
    marc = await server.runtime.store.read(lambda q: q.person_by_email(site.id, MARC.email))
    assert marc is not None
    lead = (await server.http.get(f"/admin/leads/{marc.id}", headers=headers)).text
    assert MARC.email in lead and 'data-score="engagement">13<' in lead
    assert "Livre blanc A" in lead and '<span class="url">http' in lead  # its ledger in words and timeline
    programme = await server.http.get("/admin/programme", headers=headers)
    assert programme.status_code == 200 and "wp-c" in programme.text


def test_serve_writes_it_once_before_the_workers_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret="test-secret")
    assert re.fullmatch(
        rf"demo history: {PEOPLE} people, \d+ requests, \d+ events, \d+ outcomes over the last {DAYS} days,"
        r" written in [\d.]+ s",
        demo_history_line(settings, _with_store),
    )
    assert demo_history_line(settings, _with_store) == "demo history: already there"
