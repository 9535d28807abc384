"""Deferred rows: written before any later statement, in order within a table, on both backends."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tracker.store import Queries, Unit, open_store
from tracker.store.deferred import Deferred

from .conftest import new_device


def test_rows_wait_by_statement_in_the_order_statements_came() -> None:
    deferred = Deferred()
    assert not deferred
    deferred.add("ledger", "INSERT ledger", (1,))
    deferred.add("events", "INSERT events", (2,))
    deferred.add("ledger", "INSERT ledger", (3,))
    assert deferred
    assert deferred.take() == {"INSERT ledger": [(1,), (3,)], "INSERT events": [(2,)]}
    assert not deferred
    assert deferred.take() == {}


def test_another_statement_for_a_pending_table_must_write_the_pending_rows_first() -> None:
    deferred = Deferred()
    deferred.add("persons", "UPDATE persons SET a", (1,))
    assert not deferred.must_flush_before("persons", "UPDATE persons SET a")
    assert deferred.must_flush_before("persons", "UPDATE persons SET b")
    assert not deferred.must_flush_before("visitors", "UPDATE visitors SET b")


def test_saves_of_different_rows_wait_together_whatever_their_statements() -> None:
    # A person whose stage changed and one whose scores alone did: two UPDATE texts, one group commit.
    deferred = Deferred()
    deferred.add("persons", "UPDATE persons SET a = ? WHERE id = ?", ("x", 1), key=1)
    assert not deferred.must_flush_before("persons", "UPDATE persons SET b = ? WHERE id = ?", key=2)
    deferred.add("persons", "UPDATE persons SET b = ? WHERE id = ?", ("y", 2), key=2)
    # The same row again: by the statement it waits in, it keeps its order; by another, it must not overtake.
    assert not deferred.must_flush_before("persons", "UPDATE persons SET a = ? WHERE id = ?", key=1)
    assert deferred.must_flush_before("persons", "UPDATE persons SET b = ? WHERE id = ?", key=1)
    # Rows that are not keyed saves keep the one-statement rule, both ways.
    assert deferred.must_flush_before("persons", "UPDATE persons SET c = ?")
    deferred.add("events", "INSERT INTO events VALUES (?)", (1,))
    assert deferred.must_flush_before("events", "UPDATE events SET a = ? WHERE id = ?", key=1)
    assert deferred.take() == {
        "UPDATE persons SET a = ? WHERE id = ?": [("x", 1)],
        "UPDATE persons SET b = ? WHERE id = ?": [("y", 2)],
        "INSERT INTO events VALUES (?)": [(1,)],
    }
    assert not deferred.must_flush_before("persons", "UPDATE persons SET b = ? WHERE id = ?", key=1)


def test_a_statement_waits_for_pending_rows_only_of_the_tables_it_uses() -> None:
    deferred = Deferred()
    deferred.add("events", "INSERT INTO events VALUES (?)", (1,))
    assert deferred.touched_by(frozenset({"events", "urls"}))
    assert not deferred.touched_by(frozenset({"webhooks"}))


def test_only_saves_tells_updates_pending_from_new_rows_pending() -> None:
    deferred = Deferred()
    assert not deferred.only_saves("persons")
    deferred.add("persons", "UPDATE persons SET stage = ? WHERE id = ?", ("known", 1))
    deferred.add("events", "INSERT INTO events VALUES (?)", (1,))
    assert deferred.only_saves("persons")
    assert not deferred.only_saves("events")


async def test_a_unit_reads_what_it_deferred_and_the_commit_keeps_it(tmp_path: Path, database: str | None) -> None:
    store = open_store(database or str(tmp_path / "t.db"))
    await store.open()
    try:

        async def unit(q: Queries) -> tuple[int, int]:
            site = await q.insert_site("s", "S", [], "", 0.0)
            person = await q.insert_person(site, 0.0)
            for stage in ("known", "mql"):
                person.stage = stage
                await q.save_person(person)
                await q.save_scores(person.id, {"fit": 1.0 if stage == "known" else 2.0}, {"fit": 0.0})
            seen = await q.conn.fetchval("SELECT value FROM person_scores WHERE person_id = ?", person.id)
            return person.id, seen

        person_id, seen = await store.write(unit)
        assert seen == 2.0
        found = await store.read(lambda q: q.person(person_id))
        assert found is not None
        assert found.stage == "mql"
    finally:
        await store.close()


async def test_single_rows_of_several_tables_are_all_written(tmp_path: Path, database: str | None) -> None:
    # On PostgreSQL, one row per table is written in one statement (data-modifying WITH clauses).
    store = open_store(database or str(tmp_path / "t.db"))
    await store.open()
    try:

        async def unit(q: Queries) -> int:
            site = await q.insert_site("s", "S", [], "", 0.0)
            person = await q.insert_person(site, 0.0)
            person.stage = "known"
            await q.save_person(person)
            await q.save_scores(person.id, {"fit": 3.0}, {"fit": 1.0})
            await q.insert_decisions(person.id, 1, [("popup", None)], "served", None, 1.0)
            return person.id

        person_id = await store.write(unit)

        async def read(q: Queries) -> tuple[object, ...]:
            found = await q.person(person_id)
            score = await q.conn.fetchval("SELECT value FROM person_scores WHERE person_id = ?", person_id)
            served = await q.conn.fetchval("SELECT campaign FROM decisions WHERE person_id = ?", person_id)
            return (found.stage if found else None, score, served)

        assert await store.read(read) == ("known", 3.0, "popup")
    finally:
        await store.close()


async def test_saves_of_rows_by_different_statements_all_land_in_order(tmp_path: Path, database: str | None) -> None:
    # Pending side by side (on PostgreSQL, in one statement's WITH clauses); a row saved again by
    # another statement is saved in the order the saves came.
    store = open_store(database or str(tmp_path / "t.db"))
    await store.open()
    try:

        async def unit(q: Queries) -> list[int]:
            site = await q.insert_site("s", "S", [], "", 0.0)
            ids = [(await q.insert_person(site, 0.0)).id for _ in range(2)]
            saves = [("stage = ?", "known", ids[0]), ("email = ?", "b@x.test", ids[1]), ("stage = ?", "mql", ids[1])]
            saves += [("email = ?", "a@x.test", ids[0]), ("stage = ?", "sql", ids[0])]
            for assignment, value, key in saves:
                await q.conn.defer("persons", f"UPDATE persons SET {assignment} WHERE id = ?", value, key, key=key)
            return ids

        ids = await store.write(unit)
        rows = await store.read(lambda q: q.conn.fetchall("SELECT id, stage, email FROM persons ORDER BY id"))
        assert [tuple(row) for row in rows] == [(ids[0], "sql", "a@x.test"), (ids[1], "mql", "b@x.test")]
    finally:
        await store.close()


async def test_two_units_saving_one_person_in_one_group_commit_end_as_if_in_sequence(
    tmp_path: Path, database: str | None
) -> None:
    # Racing requests for one person, as the beacon's units run: the device and person read (on SQLite
    # from the remembered copy, no statement), then saved.  The second also sets a column the others do
    # not: one row saved by two UPDATE texts, back and forth, in one group commit, and the row ends as
    # the last left it (were the rows of one text written together, the second's would come last).
    store = open_store(database or str(tmp_path / "t.db"))
    await store.open()
    try:
        laptop, _ = await new_device(store)

        def save(email: str | None, stage: str, seen: float) -> Unit[None]:
            async def unit(q: Queries) -> None:
                found = await q.device_and_person(laptop.id, laptop.site_id)
                assert found is not None
                visitor, person = found
                person.email = email or person.email
                person.stage, person.last_seen_at = stage, seen
                await q.save_person(person)
                await q.save_visitor(visitor)
                q.remember_device(visitor, person)

            return unit

        await store.write(save(None, "anonymous", 0.5))  # remembered from here on (SQLite)
        saves = [save(None, "known", 1.0), save("a@x.test", "mql", 2.0), save(None, "sql", 3.0)]
        await asyncio.gather(*(store.write(unit) for unit in saves))
        found = await store.read(lambda q: q.person(laptop.person_id))
        assert found is not None and (found.email, found.stage, found.last_seen_at) == ("a@x.test", "sql", 3.0)
    finally:
        await store.close()
