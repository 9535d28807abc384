"""The PostgreSQL store's own parts: its URL, the ``?`` → ``$n`` rewrite of the shared SQL, event ids taken
with the device read, and deferred rows written together."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

import tracker.store
from tracker.app import DEMO_PROGRAMME
from tracker.domain.facts import Incoming, LedgerEntry
from tracker.services.sites import seed_site
from tracker.store import Queries, Store, open_store
from tracker.store.migrations import load
from tracker.store.postgres import _BULK_WRITERS, PostgresStore, split_schema, to_dollar

from .conftest import backend, new_device

STORE = Path(tracker.store.__file__).parent
# What SQL does not read as code: literals, quoted identifiers, comments.
_NOT_CODE = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|--[^\n]*|/\*.*?\*/", re.S)


def test_postgres_urls_open_the_postgres_store() -> None:
    store = open_store("postgresql://postgres@127.0.0.1:5432/test?schema=t_abc&sslmode=disable")
    assert isinstance(store, PostgresStore)
    assert store.schema == "t_abc" and store.url == "postgresql://postgres@127.0.0.1:5432/test?sslmode=disable"
    with pytest.raises(ValueError, match="schema"):
        split_schema("postgresql://h/db?schema=x;drop")


def test_placeholders_become_numbered() -> None:
    assert to_dollar("SELECT ? WHERE a = ? AND b IN (?, ?)") == "SELECT $1 WHERE a = $2 AND b IN ($3, $4)"


def test_each_statement_is_rewritten_once() -> None:
    statement = "SELECT ? AS test_each_statement_is_rewritten_once"
    before = to_dollar.cache_info()
    assert to_dollar(statement) == to_dollar(statement)
    after = to_dollar.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)


def store_strings() -> Iterator[tuple[str, str]]:
    """Every string literal of the store's Python but docstrings, with where it is.

    Statements are built only from these (adjacent literals are one string in the AST, and
    what f-strings splice in are the store's column lists, table names, lock clauses and
    ``?`` marks, all literals here too); caller values travel as arguments, never as SQL.
    """
    for path in sorted(STORE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                yield f"{path.name}:{node.lineno}", node.value


def test_no_statement_can_hold_a_literal_question_mark() -> None:
    """What makes the blind rewrite of every ``?`` exact (see ``to_dollar``)."""
    strings = list(store_strings())
    assert len(strings) > 100  # the walk reached the SQL
    for where, text in strings:
        hidden = _NOT_CODE.findall(text)
        assert not any("?" in part for part in hidden), f"{where}: a '?' inside a literal or comment: {text!r}"
        # Balanced in each string, no literal or comment starts in one string and ends in the next.
        rest = _NOT_CODE.sub("", text)
        assert not any(mark in rest for mark in ("'", '"', "/*")), f"{where}: unbalanced quote: {text!r}"
    for dialect in ("sqlite", "postgresql"):
        for migration in load(dialect):
            assert not any("?" in statement for statement in migration.statements), migration.name


@contextlib.asynccontextmanager
async def postgres_store() -> AsyncIterator[Store]:
    async with backend("postgresql") as url:
        assert url is not None
        store = open_store(url)
        await store.open()
        try:
            yield store
        finally:
            await store.close()


async def test_the_device_read_and_a_new_person_take_the_ids_of_the_events_to_come() -> None:
    async with postgres_store() as store:
        visitor, _ = await new_device(store)

        async def unit(q: Queries) -> tuple[list[int | None], list[int]]:
            found = await q.device_and_person(visitor.id, visitor.site_id, events=2)
            assert found is not None
            ids = [await q.conn.next_event_id() for _ in range(2)]
            assert await q.conn.next_event_id() is None  # the database gives the next one
            # Another lock may have waited for units whose events must come before this unit's: ids given up.
            await q.device_and_person(visitor.id, visitor.site_id, events=1)
            q.conn.lock_rows("p")
            stored = [(await q.insert_event(found[1].id, visitor.num, Incoming("page", 1.0), 1)).id for _ in range(2)]
            # A new person's row is its unit's alone: its events' ids come with it too.
            await q.insert_person(visitor.site_id, 1.0, events=1)
            ids.append(await q.conn.next_event_id())
            return ids, stored

        taken, stored = await store.write(unit)
        assert all(isinstance(event_id, int) for event_id in taken)
        assert taken[1] == taken[0] + 1  # type: ignore[operator]
        assert taken[1] < min(stored) < max(stored) < taken[2]  # type: ignore[operator]


async def test_ids_are_taken_once_the_device_is_locked() -> None:
    """A unit that waited for the device's lock gets ids after those of the unit it waited for: one
    person's events keep the order in which their units held the person."""
    async with postgres_store() as store:
        visitor, person = await new_device(store)
        locked, go = asyncio.Event(), asyncio.Event()

        async def first(q: Queries) -> int:
            assert await q.device_and_person(visitor.id, visitor.site_id) is not None
            locked.set()
            await go.wait()
            return (await q.insert_event(person.id, visitor.num, Incoming("page", 1.0), 1)).id

        async def second(q: Queries) -> int | None:
            assert await q.device_and_person(visitor.id, visitor.site_id, events=1) is not None
            return await q.conn.next_event_id()

        holding = asyncio.create_task(store.write(first))
        await locked.wait()
        waiting = asyncio.create_task(store.write(second))
        await asyncio.sleep(0.2)  # the second unit is waiting for the lock by now
        assert not waiting.done()
        go.set()
        first_id, second_id = await holding, await waiting
        assert second_id is not None and second_id > first_id


# In one multi-row VALUES; beyond its bound, 8 rows a statement, the rest (if any) in one more.
@pytest.mark.parametrize("rows", [3, 12, 16, 21])
async def test_rows_of_several_statements_go_in_one_statement_in_their_order(rows: int) -> None:
    async with postgres_store() as store:
        visitor, person = await new_device(store)

        async def unit(q: Queries) -> None:
            event = await q.insert_event(person.id, visitor.num, Incoming("page", 1.0), 1)
            entries = [LedgerEntry("fit", f"r{n}", event.id, "add", 1.0, n, n + 1.0, 1.0) for n in range(rows)]
            await q.insert_ledger(person.id, entries)
            await q.save_scores(person.id, {"fit": 3.0, "intent": 1.0}, {"fit": 1.0})
            await q.save_person(person)

        await store.write(unit)

        async def read(q: Queries) -> tuple[list[str], dict[str, float]]:
            ledger = await q.conn.fetchall("SELECT rule_id FROM ledger_rows WHERE person_id = ? ORDER BY id", person.id)
            scores = await q.conn.fetchall("SELECT score, value FROM person_scores WHERE person_id = ?", person.id)
            return [row["rule_id"] for row in ledger], {row["score"]: row["value"] for row in scores}

        assert await store.read(read) == ([f"r{n}" for n in range(rows)], {"fit": 3.0, "intent": 1.0})


async def test_two_saves_of_one_score_in_a_unit_are_written_in_turn() -> None:
    """Upserts of one key cannot share a statement (it may not change a row twice): the last one wins."""
    async with postgres_store() as store:
        _, person = await new_device(store)

        async def unit(q: Queries) -> None:
            await q.save_scores(person.id, {"fit": 1.0, "intent": 1.0}, {})
            await q.save_scores(person.id, {"fit": 2.0}, {})

        await store.write(unit)
        rows = await store.read(lambda q: q.conn.fetchall("SELECT score, value FROM person_scores ORDER BY score"))
        assert [(row["score"], row["value"]) for row in rows] == [("fit", 2.0), ("intent", 1.0)]


async def transaction_id(q: Queries) -> int:
    return int(await q.conn.fetchval("SELECT txid_current()"))


async def test_units_queued_together_commit_in_one_transaction() -> None:
    async with postgres_store() as store:
        ids = await asyncio.gather(*(store.write(transaction_id) for _ in range(20)))
        assert len(set(ids)) < len(ids)


async def test_a_failing_unit_of_a_batch_runs_the_others_again_each_alone() -> None:
    async with postgres_store() as store:
        site = await store.write(lambda q: q.insert_site("s", "S", [], "", 0.0))
        runs: list[int] = []

        async def good(q: Queries) -> int:
            # Its own id, not runs[-1]: run again alone, the two goods run side by side on two connections.
            txid = await transaction_id(q)
            runs.append(txid)
            await q.insert_person(site, 1.0)
            return txid

        async def bad(q: Queries) -> None:
            await q.insert_person(site, 1.0)
            await q.conn.execute("SELECT 1 / 0")  # the database's error: the whole transaction is aborted

        results = await asyncio.gather(store.write(good), store.write(good), store.write(bad), return_exceptions=True)
        assert isinstance(results[2], asyncpg.exceptions.DivisionByZeroError)
        assert len(runs) == 4 and runs[0] == runs[1]  # together first, then each in a transaction of its own
        assert results[0] != results[1] and {results[0], results[1]} == set(runs[2:])
        assert await store.read(lambda q: q.conn.fetchval("SELECT COUNT(*) FROM persons")) == 2


async def test_instances_starting_together_on_a_new_schema_both_open_with_one_demo_site() -> None:
    """Instances of a rollout start at once: the schema, the migrations and the demo site each end made once."""
    async with backend("postgresql", fresh=True) as url:
        assert url is not None
        stores = [open_store(url) for _ in range(3)]
        await asyncio.gather(*(store.open() for store in stores))
        try:
            programme = DEMO_PROGRAMME.read_text(encoding="utf-8")
            sites = await asyncio.gather(
                *(seed_site(store, "demo", name="Demo", programme=programme, now=1.0) for store in stores)
            )
            assert len({site.id for site in sites}) == 1
            versions = await stores[0].read(lambda q: q.conn.fetchval("SELECT COUNT(*) FROM programme_versions"))
            assert versions == 1
        finally:
            await asyncio.gather(*(store.close() for store in stores))


async def test_closing_commits_the_units_queued_before() -> None:
    async with postgres_store() as store:
        site = await store.write(lambda q: q.insert_site("s", "S", [], "", 0.0))
        writes = [
            asyncio.ensure_future(store.write(lambda q: q.insert_person(site, 1.0), bulk=n % 2 == 0)) for n in range(5)
        ]
        await asyncio.sleep(0)  # they are queued
        await store.close()
        assert sorted(write.result().id for write in writes) == [1, 2, 3, 4, 5]
        await store.open()
        assert await store.read(lambda q: q.conn.fetchval("SELECT COUNT(*) FROM persons")) == 5


async def test_a_batch_waiting_long_for_a_lock_gives_way_to_its_units_alone() -> None:
    """Batches lock people in no set order: rather than wait (perhaps for each other), they give way."""
    async with postgres_store() as store:
        visitor, _ = await new_device(store)
        locked, go = asyncio.Event(), asyncio.Event()

        async def holder(q: Queries) -> None:
            assert await q.device_and_person(visitor.id, visitor.site_id) is not None
            locked.set()
            await go.wait()

        async def waiter(q: Queries) -> int:
            assert await q.device_and_person(visitor.id, visitor.site_id) is not None
            return await transaction_id(q)

        holding = asyncio.create_task(store.write(holder))
        await locked.wait()
        waiting = asyncio.gather(store.write(waiter), store.write(waiter))  # one batch, on the other writer
        await asyncio.sleep(0.5)  # far longer than a batch waits for a lock
        go.set()
        await holding
        first, second = await waiting
        assert first != second  # each ran again in a transaction of its own, and waited there


async def test_bulk_units_have_writers_of_their_own() -> None:
    """Segment batches, however many, never hold up a beacon call's unit, nor take its writers."""
    async with postgres_store() as store:
        site = await store.write(lambda q: q.insert_site("s", "S", [], "", 0.0))
        go = asyncio.Event()

        def holding(started: asyncio.Event) -> Callable[[Queries], Awaitable[int]]:
            async def unit(q: Queries) -> int:
                started.set()
                await go.wait()
                return await transaction_id(q)

            return unit

        busy: list[asyncio.Future[int]] = []
        try:
            for _ in range(_BULK_WRITERS):  # one at a time, so that each holds a writer of its own
                started = asyncio.Event()
                busy.append(asyncio.ensure_future(store.write(holding(started), bulk=True)))
                await asyncio.wait_for(started.wait(), 5)
            extra_started = asyncio.Event()
            busy.append(asyncio.ensure_future(store.write(holding(extra_started), bulk=True)))
            person = await asyncio.wait_for(store.write(lambda q: q.insert_person(site, 1.0)), 5)
            assert person.id == 1
            await asyncio.sleep(0.2)
            assert not extra_started.is_set()  # every bulk writer is busy, and the others are not for bulk units
        finally:
            go.set()  # a failure above must not leave the store's close waiting for these units
        held = await asyncio.gather(*busy)
        assert len(set(held[:-1])) == _BULK_WRITERS  # side by side, each in a transaction of its own
