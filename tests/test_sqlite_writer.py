"""SQLite's writer defers the rows units only add or overwrite, and every statement still sees every
earlier write; a failing unit takes back only its own rows, deferred or not."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tracker.domain.facts import Incoming
from tracker.domain.people import PersonRecord, VisitorRecord
from tracker.store import Queries, Store
from tracker.store.sqlite import SqliteStore
from tracker.store.sqlite_writer import WriterConn

from .conftest import new_device


def _page(path: str) -> Incoming:
    return Incoming("page", 1.0, url=f"https://shop.test{path}")


async def test_a_read_sees_the_rows_deferred_before_it(sqlite_store: Store) -> None:
    visitor, person = await new_device(sqlite_store)

    async def unit(q: Queries) -> tuple[int, int]:
        event = await q.insert_event(person.id, visitor.num, _page("/a"), 1)
        stored = await q.conn.fetchval("SELECT COUNT(*) FROM events WHERE id = ?", event.id)
        return event.id, stored

    event_id, stored = await sqlite_store.write(unit)
    assert stored == 1
    assert [e.id for e in await sqlite_store.read(lambda q: q.events_of(person.id))] == [event_id]


async def test_a_read_of_other_tables_leaves_the_rows_deferred_and_one_through_a_view_writes_them(
    sqlite_store: Store,
) -> None:
    visitor, person = await new_device(sqlite_store)

    async def unit(q: Queries) -> tuple[int, int, int]:
        assert isinstance(q.conn, WriterConn)
        db = q.conn.db
        event = await q.insert_event(person.id, visitor.num, _page("/a"), 1)
        written = db.total_changes
        await q.conn.fetchval("SELECT COUNT(*) FROM webhooks")  # names none of the deferred rows' tables
        after_other = db.total_changes - written
        seen = await q.conn.fetchval("SELECT COUNT(*) FROM event_rows WHERE id = ?", event.id)
        return after_other, db.total_changes - written, seen

    after_other, after_view, seen = await sqlite_store.write(unit)
    assert after_other == 0
    assert after_view >= 1
    assert seen == 1


async def test_event_ids_handed_out_early_are_the_stored_ones_and_never_taken_twice(sqlite_store: Store) -> None:
    visitor, person = await new_device(sqlite_store)

    async def unit(q: Queries) -> list[int]:
        first = await q.insert_event(person.id, visitor.num, _page("/a"), 1)
        # A statement run at once that adds an event with the database's own id...
        await q.conn.execute(
            "INSERT INTO events (person_id, visitor_num, ts, type, name) VALUES (?, ?, 2.0, 'page', 'x')",
            person.id,
            visitor.num,
        )
        second = await q.insert_event(person.id, visitor.num, _page("/b"), 1)
        return [first.id, second.id]

    ids = await asyncio.gather(*(sqlite_store.write(unit) for _ in range(5)))
    stored = await sqlite_store.read(lambda q: q.conn.fetchall("SELECT id, name FROM events ORDER BY id"))
    handed = sorted(i for pair in ids for i in pair)
    assert [row["id"] for row in stored if row["name"] != "x"] == handed
    assert len({row["id"] for row in stored}) == len(stored) == 15


async def test_a_failing_unit_takes_back_only_its_own_deferred_rows(sqlite_store: Store) -> None:
    visitor, person = await new_device(sqlite_store)

    async def good(q: Queries) -> int:
        return (await q.insert_event(person.id, visitor.num, _page("/good"), 1)).id

    async def bad_row(q: Queries) -> int:
        await q.insert_event(person.id, visitor.num, _page("/bad"), 1)
        # Deferred like any save, and refused only when written: NOT NULL on ledger.points.
        await q.conn.defer("ledger", "INSERT INTO ledger (person_id, points) VALUES (?, NULL)", person.id)
        return 0

    results = await asyncio.gather(
        sqlite_store.write(good), sqlite_store.write(bad_row), sqlite_store.write(good), return_exceptions=True
    )
    assert isinstance(results[1], Exception)
    urls = await sqlite_store.read(lambda q: q.conn.fetchall("SELECT url FROM event_rows ORDER BY id"))
    assert [row["url"] for row in urls] == ["https://shop.test/good"] * 2


async def test_a_new_person_does_not_wait_for_the_pending_save_of_another(sqlite_store: Store) -> None:
    _, person = await new_device(sqlite_store)

    async def unit(q: Queries) -> tuple[int, int]:
        assert isinstance(q.conn, WriterConn)
        before = q.conn.db.total_changes
        changed = person.copy()
        changed.stage = "known"
        await q.save_person(changed)
        added = await q.insert_person(person.site_id, 1.0)
        return q.conn.db.total_changes - before, added.id

    changes, added = await sqlite_store.write(unit)
    assert changes == 1  # the insert alone: the save was still pending
    stages = await sqlite_store.read(lambda q: q.conn.fetchall("SELECT id, stage FROM persons ORDER BY id"))
    assert [(row["id"], row["stage"]) for row in stages] == [(person.id, "known"), (added, "anonymous")]


async def test_a_new_person_taking_the_e_mail_a_pending_save_takes_fails_as_if_after_it(sqlite_store: Store) -> None:
    _, person = await new_device(sqlite_store)

    async def save(q: Queries) -> None:
        changed = person.copy()
        changed.email = "marc@example.com"
        await q.save_person(changed)

    async def insert(q: Queries) -> int:
        return (await q.insert_person(person.site_id, 1.0, email="marc@example.com")).id

    saved, inserted = await asyncio.gather(sqlite_store.write(save), sqlite_store.write(insert), return_exceptions=True)
    assert saved is None
    assert isinstance(inserted, sqlite3.IntegrityError)
    emails = await sqlite_store.read(lambda q: q.conn.fetchall("SELECT id, email FROM persons ORDER BY id"))
    assert [(row["id"], row["email"]) for row in emails] == [(person.id, "marc@example.com")]


async def test_saves_of_one_person_in_one_commit_end_as_the_last(sqlite_store: Store) -> None:
    visitor, person = await new_device(sqlite_store)

    def saving(stage: str, email: str | None) -> Callable[[Queries], Awaitable[None]]:
        async def unit(q: Queries) -> None:
            found = await q.device_and_person(visitor.id, visitor.site_id)
            assert found is not None
            device, changed = found
            changed.stage, changed.email = stage, email
            await q.save_person(changed)
            await q.save_visitor(device)
            q.remember_device(device, changed)  # so the next unit saves only what it changes

        return unit

    # Different columns change each time, so each save is another statement: their order must hold.
    await asyncio.gather(
        *(sqlite_store.write(saving(*change)) for change in [("known", "a@example.com"), ("mql", None)] * 3)
    )
    found = await sqlite_store.read(lambda q: q.person(person.id))
    assert found is not None
    assert (found.stage, found.email) == ("mql", None)


async def test_remembered_people_survive_their_own_deferred_save_but_not_another(sqlite_store: Store) -> None:
    visitor, person = await new_device(sqlite_store)

    async def ingest_save(q: Queries) -> None:
        await q.save_person(person)
        await q.save_visitor(visitor)
        q.remember_device(visitor, person)

    await sqlite_store.write(ingest_save)
    assert await sqlite_store.write(lambda q: _recall(q, visitor)) is not None

    async def other_save(q: Queries) -> None:
        changed = person.copy()
        changed.stage = "sql"
        await q.save_person(changed)  # e.g. a console action: saved, not remembered

    await sqlite_store.write(other_save)
    assert await sqlite_store.write(lambda q: _recall(q, visitor)) is None
    found = await sqlite_store.write(lambda q: q.device_and_person(visitor.id, visitor.site_id))
    assert found is not None
    assert found[1].stage == "sql"


async def _recall(q: Queries, visitor: VisitorRecord) -> tuple[VisitorRecord, PersonRecord] | None:
    assert q.conn.hot is not None
    return q.conn.hot.recall(visitor.id, visitor.site_id)


async def test_events_another_process_added_between_commits_keep_their_ids(sqlite_store: Store, tmp_path: Path) -> None:
    visitor, person = await new_device(sqlite_store)

    async def unit(q: Queries) -> int:
        return (await q.insert_event(person.id, visitor.num, _page("/a"), 1)).id

    first = await sqlite_store.write(unit)
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)  # a second worker
    other.execute("INSERT INTO events (person_id, visitor_num, ts, type) VALUES (?, ?, 2.0, 'page')", (1, 1))
    taken = other.execute("SELECT MAX(id) FROM events").fetchone()[0]
    other.close()
    assert isinstance(sqlite_store, SqliteStore)
    assert sqlite_store._db is not None
    statements: list[str] = []
    sqlite_store._db.set_trace_callback(statements.append)
    second = await sqlite_store.write(unit)
    assert (taken, second) == (first + 1, first + 2)
    # Right the first time: not by a clash on the id, a rollback and a second try.
    assert "ROLLBACK" not in statements


async def test_new_rows_get_the_ids_their_insert_returns_as_written(sqlite_store: Store) -> None:
    """The writer reads a new row's id from the connection rather than through RETURNING
    (``rowid_returning``): the ids are the ones RETURNING gives, and a refused row is still refused."""
    visitor, person = await new_device(sqlite_store)

    async def unit(q: Queries) -> tuple[int, int, int]:
        second = await q.insert_person(person.site_id, 2.0, email="a@x.fr")
        returned = await q.conn.fetchval(
            "INSERT INTO persons (site_id, stage, created_at, last_seen_at, updated_at)"
            " VALUES (?, 'anonymous', 3.0, 3.0, 3.0) RETURNING id, stage",  # two columns: run as written
            person.site_id,
        )
        device = VisitorRecord("dev-2", person.site_id, second.id, 1, "desktop", "firefox", 2.0, 2.0)
        await q.insert_visitor(device)
        return second.id, returned, device.num

    assert await sqlite_store.write(unit) == (person.id + 1, person.id + 2, visitor.num + 1)
    with pytest.raises(sqlite3.IntegrityError):
        await sqlite_store.write(lambda q: q.insert_person(person.site_id, 4.0, email="a@x.fr"))
