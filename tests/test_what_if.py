"""What-if (services/what_if.py): a draft replayed over the stored history, nothing written."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from tracker.domain.programme.load import load_programme
from tracker.errors import BadRequest
from tracker.services import what_if as what_if_module
from tracker.services.what_if import compile_draft, replay_site, what_if
from tracker.store import Queries

from .conftest import Server
from .rescore_history import DRAFT, plant, win

TABLES = ("persons", "person_scores", "ledger", "stages", "assignments", "webhook_outbox", "rescore_jobs")


async def snapshot(server: Server) -> dict[str, Any]:
    """Every row a rescore could change, to prove a what-if changed none."""

    async def read(q: Queries) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for table in TABLES:
            rows = await q.conn.fetchall(f"SELECT * FROM {table}")
            found[table] = sorted(tuple(sorted(dict(row).items())) for row in rows)
        return found

    return await server.runtime.store.read(read)


async def test_a_draft_shows_who_would_change_stage_and_writes_nothing(server: Server) -> None:
    ids = await plant(server)
    before = await snapshot(server)
    result = await what_if(server.runtime.store, "demo", load_programme(DRAFT), days=30, now=server.clock())
    assert await snapshot(server) == before
    tally = result.to_json()
    assert tally["people"] == 3
    assert tally["changed"] == 1
    assert tally["no_longer_qualify"] == 1
    listed = {row["id"]: (row["before"], row["after"], row["warranted"]) for row in tally["people_listed"]}
    assert listed == {ids["elodie"]: ("known", "mql", "mql"), ids["capucine"]: ("sql", "sql", "known")}
    assert tally["stages"]["before"] == {"anonymous": 1, "known": 1, "mql": 0, "sql": 1}
    assert tally["stages"]["after"] == {"anonymous": 1, "known": 0, "mql": 1, "sql": 1}
    engagement = tally["scores"]["engagement"]
    # Bands of 3 points (sql 12 / 4): 2, 5 and 12 now; 2, 8 and 4 with the draft.
    assert engagement["edges"][:5] == [0, 3, 6, 9, 12]
    assert engagement["before"][1:6] == [1, 1, 0, 0, 1]
    assert engagement["after"][1:6] == [1, 1, 1, 0, 0]


async def test_only_people_seen_in_the_window_are_replayed(server: Server) -> None:
    await plant(server)
    server.clock.advance(10 * 86400)
    beacon = server.beacon()
    await beacon.page("/demo/")
    recent = await what_if(server.runtime.store, "demo", load_programme(DRAFT), days=5, now=server.clock())
    everyone = await what_if(server.runtime.store, "demo", load_programme(DRAFT), days=None, now=server.clock())
    assert (recent.tally.people, everyone.tally.people) == (1, 4)


async def test_pages_of_people_replay_everyone_once(server: Server) -> None:
    ids = await plant(server, extra=3)
    scoring = load_programme(DRAFT).scoring
    seen = [person.id async for person, _ in replay_site(server.runtime.store, 1, scoring, page=2)]
    assert seen == sorted(ids.values())


async def test_a_replay_stopped_early_leaves_no_read_of_the_next_page_behind(server: Server) -> None:
    await plant(server, extra=3)
    scoring = load_programme(DRAFT).scoring
    before = asyncio.all_tasks()
    async with contextlib.aclosing(replay_site(server.runtime.store, 1, scoring, page=2)) as people:
        async for _ in people:
            assert asyncio.all_tasks() - before  # the next page is being read meanwhile
            break
    assert asyncio.all_tasks() == before


def test_a_draft_that_does_not_compile_is_a_400_naming_its_key() -> None:
    with pytest.raises(BadRequest) as caught:
        compile_draft(DRAFT.replace('points = "wp_vision"', 'points = "nope"'))
    assert "rules[wp-c].points" in caught.value.message
    assert caught.value.field == "programme"


async def test_conversion_by_band_now_and_with_the_draft(server: Server) -> None:
    ids = await plant(server)
    await win(server, ids["elodie"])
    result = await what_if(server.runtime.store, "demo", load_programme(DRAFT), days=30, now=server.clock())
    conversion = result.to_json()["conversion"]
    assert (conversion["score"], conversion["width"], conversion["converting"]) == ("engagement", 2.0, ["won"])
    # Leads only (Marc is anonymous); bands of 2 points (sql 12 / 6) from 4 to 12 on both sides.
    # Élodie won at 5 now, 8 with white paper B worth 8; Capucine has 12 now, 4 with the draft.
    now = {band["low"]: (band["leads"], band["converted"]) for band in conversion["before"]}
    draft = {band["low"]: (band["leads"], band["converted"]) for band in conversion["after"]}
    assert [band["low"] for band in conversion["before"]] == [band["low"] for band in conversion["after"]]
    assert now == {4: (1, 1), 6: (0, 0), 8: (0, 0), 10: (0, 0), 12: (1, 0)}
    assert draft == {4: (1, 0), 6: (0, 0), 8: (1, 1), 10: (0, 0), 12: (0, 0)}
    converted = next(band for band in conversion["after"] if band["low"] == 8)
    assert converted["rate"]["estimate"] == 1.0 and converted["rate"]["low"] < 1.0


async def test_requests_get_their_turn_between_people_once_a_slice_of_replay_is_spent(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    await plant(server, extra=5)
    scoring = load_programme(DRAFT).scoring
    turns: list[int] = []
    seen = 0

    async def request_waiting() -> None:
        while True:
            turns.append(seen)
            await asyncio.sleep(0)

    monkeypatch.setattr(what_if_module, "SLICE", 0.0)  # every person spends the slice
    waiting = asyncio.create_task(request_waiting())
    try:
        async for _ in replay_site(server.runtime.store, 1, scoring):
            seen += 1
    finally:
        waiting.cancel()
    assert seen == 8
    assert set(range(1, seen)) <= set(turns)  # a turn after each person, the page read in one go
