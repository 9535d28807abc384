"""What-if (services/what_if.py): a draft replayed over the stored history, nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from tracker.domain.programme.load import load_programme
from tracker.errors import BadRequest
from tracker.services.what_if import compile_draft, replay_site, what_if
from tracker.store import Queries

from .conftest import Server
from .rescore_history import DRAFT, plant

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


def test_a_draft_that_does_not_compile_is_a_400_naming_its_key() -> None:
    with pytest.raises(BadRequest) as caught:
        compile_draft(DRAFT.replace('points = "wp_vision"', 'points = "nope"'))
    assert "rules[wp-c].points" in caught.value.message
    assert caught.value.field == "programme"
