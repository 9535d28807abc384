"""Rebuilding a person's scores from its events (services/rebuild.py), whatever changed them.

After a rebuild, three copies must agree with a replay of the events the person has left: the
ledger (it explains the score to sales, so it sums to it), the ``person_scores`` rows the lead
list sorts on, and the scoring state saved on the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tracker.domain.facts import Event, LedgerEntry, ScoreState
from tracker.domain.people import PersonRecord
from tracker.domain.scoring import ScoringResult, replay
from tracker.domain.sites import Site
from tracker.services.abuse import quarantine
from tracker.services.rebuild import rebuild_scores
from tracker.store import Queries

from .conftest import Beacon, Server


@dataclass
class Stored:
    events: list[Event]
    copies: dict[str, float]
    ledger: list[dict[str, Any]]
    person: PersonRecord


def demo(server: Server) -> Site:
    site = server.runtime.sites.get("demo")
    assert site is not None
    return site


async def stored(server: Server, person_id: int) -> Stored:
    async def unit(q: Queries) -> Stored:
        copies = await q.conn.fetchall("SELECT score, value FROM person_scores WHERE person_id = ?", person_id)
        person = await q.person(person_id)
        assert person is not None
        return Stored(
            events=await q.events_of(person_id),
            copies={row["score"]: float(row["value"]) for row in copies},
            ledger=await q.ledger_of(person_id, 10_000),
            person=person,
        )

    return await server.runtime.store.read(unit)


async def assert_agrees_with_a_replay(server: Server, person_id: int) -> ScoringResult:
    """Every stored copy of ``person_id``'s scores equals a replay of its stored events."""
    now = await stored(server, person_id)
    expected = replay(demo(server).programme.scoring, now.events)
    assert now.copies == expected.state.values
    assert now.person.scoring.to_json() == expected.state.to_json()
    for score, value in expected.state.values.items():
        assert sum(row["points"] for row in now.ledger if row["score"] == score) == pytest.approx(value), score
    rows = sorted((row["score"], row["rule_id"], row["event_id"], row["points"]) for row in now.ledger)
    assert rows == sorted((e.score, e.rule_id, e.event_id, e.points) for e in expected.ledger)
    # No ledger row explains points with an event the person no longer has.
    assert {row["event_id"] for row in now.ledger} <= {event.id for event in now.events}
    return expected


async def person_id(server: Server, beacon: Beacon) -> int:
    return int((await server.api(f"/api/visitors/{beacon.vid}"))["person_id"])


async def marc_on_two_devices(server: Server) -> tuple[Beacon, Beacon]:
    """Marc reads white paper A on his laptop, then white paper C and two articles on his phone."""
    laptop = server.beacon()
    await laptop.download("/demo/files/livre-blanc-a.pdf")  # +2
    await laptop.form("newsletter", email="marc@example.com")
    phone = server.beacon()
    await phone.download("/demo/files/livre-blanc-c.pdf")  # +12
    await phone.page("/demo/blog/qualite/precision")  # +2
    await phone.page("/demo/blog/qualite/service")  # +2
    await phone.form("newsletter", email="marc@example.com")  # merges the phone's history into Marc
    return laptop, phone


async def test_a_rebuild_rewrites_wrong_copies_from_the_events(server: Server) -> None:
    marc = server.beacon()
    await marc.download("/demo/files/livre-blanc-b.pdf")  # +5
    await marc.page("/demo/emplois")  # −15
    await marc.page("/demo/blog/qualite/precision")  # +2
    pid = await person_id(server, marc)

    async def corrupt(q: Queries) -> None:
        person = await q.person(pid)
        assert person is not None
        person.scoring = ScoreState(values={"engagement": 999.0, "fit": 7.0})
        await q.save_person(person)
        await q.save_scores(pid, {"engagement": 999.0, "fit": 7.0}, {})
        await q.insert_ledger(pid, [LedgerEntry("fit", "bogus", None, "add", 7.0, 0.0, 7.0, 0.0)])

    await server.runtime.store.write(corrupt)

    async def rebuild(q: Queries) -> PersonRecord:
        person = await q.person(pid)
        assert person is not None
        await rebuild_scores(q, demo(server).programme.scoring, person)
        await q.save_person(person)  # the caller saves the person the rebuild updated in memory
        return person

    rebuilt = await server.runtime.store.write(rebuild)
    expected = await assert_agrees_with_a_replay(server, pid)
    assert expected.state.values == {"engagement": -8.0}
    assert rebuilt.scoring.values == {"engagement": -8.0}


async def test_after_a_merge_the_survivor_agrees_with_a_replay_of_both_histories(server: Server) -> None:
    laptop, phone = await marc_on_two_devices(server)
    marc = await person_id(server, laptop)
    assert await person_id(server, phone) == marc

    expected = await assert_agrees_with_a_replay(server, marc)
    assert expected.state.values == {"engagement": 18.0}
    assert expected.state.reached == {"engagement": "sql"}
    assert len((await stored(server, marc)).events) == 6


async def test_after_a_quarantine_only_the_other_devices_events_still_count(server: Server) -> None:
    laptop, phone = await marc_on_two_devices(server)
    marc = await person_id(server, laptop)
    phone_id = server.runtime.tokens.verify("demo", phone.vid)
    assert phone_id is not None

    removed = await server.runtime.store.write(lambda q: quarantine(q, demo(server), phone_id, "test", server.clock()))

    assert removed == 4
    expected = await assert_agrees_with_a_replay(server, marc)
    assert expected.state.values == {"engagement": 2.0}  # white paper A, read on the laptop
    assert [event.type for event in (await stored(server, marc)).events] == ["download", "form"]
