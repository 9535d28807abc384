"""The SQLite writer remembers the devices and persons ingest saved, and never hands out one that
is no longer what the database holds."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tracker.domain.facts import Event, ScoreState
from tracker.domain.people import PersonRecord, VisitorRecord
from tracker.domain.scoring import replay
from tracker.store import Queries, Store
from tracker.store.hot_people import HotPeople

from .conftest import BASE, Server, new_device


def _pair(person_id: int = 1, visitor_id: str = "v1", site_id: int = 1) -> tuple[VisitorRecord, PersonRecord]:
    visitor = VisitorRecord(visitor_id, site_id, person_id, 1, "desktop", "Chrome", 0.0, 0.0)
    person = PersonRecord(person_id, site_id, None, None, "anonymous", {}, ScoreState(), {}, 0.0, None, 0.0, 0.0)
    return visitor, person


def test_recall_hands_out_copies() -> None:
    hot = HotPeople()
    visitor, person = _pair()
    hot.remember(visitor, person)
    person.profile["company"] = "changed after saving"
    recalled = hot.recall("v1", 1)
    assert recalled is not None
    recalled[0].visits = 9
    recalled[1].profile["email"] = "x@example.com"
    again = hot.recall("v1", 1)
    assert again is not None
    assert again[0].visits == 1
    assert again[1].profile == {}


def test_recall_needs_the_same_site_and_both_records() -> None:
    hot = HotPeople()
    hot.remember(*_pair())
    assert hot.recall("v1", 2) is None
    assert hot.recall("v2", 1) is None
    hot.forget_person(1)
    assert hot.recall("v1", 1) is None


def test_the_oldest_entries_go_first() -> None:
    hot = HotPeople(capacity=2)
    for number in (1, 2, 3):
        hot.remember(*_pair(number, f"v{number}"))
    assert hot.recall("v1", 1) is None
    assert hot.recall("v2", 1) is not None
    assert hot.recall("v3", 1) is not None
    assert len(hot) == 2


async def _saved(sqlite_store: Store) -> tuple[VisitorRecord, PersonRecord]:
    """A device and person saved and remembered as an ingest unit does."""
    visitor, person = await new_device(sqlite_store)

    async def unit(q: Queries) -> None:
        person.stage = "known"
        await q.save_person(person)
        await q.save_visitor(visitor)
        q.remember_device(visitor, person)

    await sqlite_store.write(unit)
    return visitor, person


async def _recalled(sqlite_store: Store, visitor: VisitorRecord) -> tuple[VisitorRecord, PersonRecord] | None:
    return await sqlite_store.write(lambda q: _recall(q, visitor))


async def _recall(q: Queries, visitor: VisitorRecord) -> tuple[VisitorRecord, PersonRecord] | None:
    assert q.conn.hot is not None
    return q.conn.hot.recall(visitor.id, visitor.site_id)


async def test_a_saved_pair_is_recalled_and_read_as_stored(sqlite_store: Store) -> None:
    visitor, _ = await _saved(sqlite_store)
    recalled = await _recalled(sqlite_store, visitor)
    assert recalled is not None
    assert recalled[1].stage == "known"
    read = await sqlite_store.write(lambda q: q.device_and_person("v1", visitor.site_id))
    assert read is not None
    assert read[1].stage == "known"


async def test_another_unit_changing_the_person_or_device_drops_it(sqlite_store: Store) -> None:
    visitor, person = await _saved(sqlite_store)
    await sqlite_store.write(lambda q: q.conn.execute("UPDATE persons SET stage = 'mql' WHERE id = ?", person.id))
    assert await _recalled(sqlite_store, visitor) is None
    found = await sqlite_store.write(lambda q: q.device_and_person("v1", visitor.site_id))
    assert found is not None
    assert found[1].stage == "mql"

    await sqlite_store.write(lambda q: _remember(q, *found))
    await sqlite_store.write(lambda q: q.conn.execute("UPDATE visitors SET bot = 'scraper' WHERE id = 'v1'"))
    assert await _recalled(sqlite_store, visitor) is None


async def test_a_device_losing_only_its_address_prefix_stays_remembered(sqlite_store: Store) -> None:
    visitor, _ = await _saved(sqlite_store)
    await sqlite_store.write(lambda q: q.set_ip_prefix("v1", "192.0.2.0"))
    assert await _recalled(sqlite_store, visitor) is not None


async def test_a_commit_by_another_connection_drops_everything(sqlite_store: Store, tmp_path: Path) -> None:
    visitor, person = await _saved(sqlite_store)
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)  # a second worker, the CLI
    other.execute("UPDATE persons SET email = 'marc@example.com' WHERE id = ?", (person.id,))
    other.close()
    assert await _recalled(sqlite_store, visitor) is None
    found = await sqlite_store.write(lambda q: q.device_and_person("v1", visitor.site_id))
    assert found is not None
    assert found[1].email == "marc@example.com"


async def test_a_unit_that_fails_leaves_nothing_remembered(sqlite_store: Store) -> None:
    visitor, person = await _saved(sqlite_store)

    async def failing(q: Queries) -> None:
        changed = person.copy()
        changed.stage = "never committed"
        q.remember_device(visitor, changed)
        raise RuntimeError("the unit fails after remembering")

    with pytest.raises(RuntimeError):
        await sqlite_store.write(failing)
    assert await _recalled(sqlite_store, visitor) is None
    found = await sqlite_store.write(lambda q: q.device_and_person("v1", visitor.site_id))
    assert found is not None
    assert found[1].stage == "known"


async def _remember(q: Queries, visitor: VisitorRecord, person: PersonRecord) -> None:
    q.remember_device(visitor, person)


def test_a_copy_has_every_field() -> None:
    visitor, person = _pair()
    visitor.bot, person.email, person.identified_at = "scraper", "marc@example.com", 5.0
    assert visitor.copy() == visitor
    assert person.copy() == person


async def test_racing_beacon_calls_of_one_returning_visitor_end_as_if_sequential(server: Server) -> None:
    beacon = server.beacon()
    await beacon.page("/demo/blog/qualite/")  # now remembered (SQLite) after its first save
    racing = [beacon.send({"type": "page", "url": f"{BASE}/demo/blog/qualite/article-{n}"}) for n in range(12)]
    answers = await asyncio.gather(*racing)
    assert {answer["vid"] for answer in answers} == {beacon.vid}

    async def snapshot(q: Queries) -> tuple[PersonRecord, list[Event], float]:
        rows = await q.conn.fetchall("SELECT id FROM persons")
        assert len(rows) == 1  # no second person for a device seen by many requests at once
        person = await q.person(int(rows[0]["id"]))
        assert person is not None
        ledger = await q.conn.fetchval(
            "SELECT SUM(points) FROM ledger_rows WHERE person_id = ? AND score = 'engagement'", person.id
        )
        return person, await q.events_of(person.id), float(ledger or 0.0)

    person, events, ledger_sum = await server.runtime.store.read(snapshot)
    assert len(events) == 13
    scoring = server.runtime.sites.get("demo").programme.scoring  # type: ignore[union-attr]
    assert person.scoring.values == replay(scoring, events).state.values
    assert person.scoring.values.get("engagement", 0.0) == ledger_sum > 0
