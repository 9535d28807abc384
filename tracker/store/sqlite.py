"""The embedded default store: SQLite in WAL mode with group commit.

Why statements run on the event-loop thread: a statement on a local WAL database
takes microseconds, while a hop to a worker thread (what aiosqlite does per call)
costs more than the statement.  Only the calls that may wait (BEGIN IMMEDIATE on a
lock held by another worker process, and the fsync'ing COMMIT) go to a thread, and
while a COMMIT is in flight the loop keeps accepting requests whose units queue up
for the next transaction.

Reads use aiosqlite on connections of their own, a small pool: WAL lets readers run
beside the writer and beside each other, each on the last committed state, so a large
sales-API read holds up neither ingest nor the API-key check of the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from tracker.store import migrations
from tracker.store.base import Queued, Store, Unit, next_batch, settle
from tracker.store.conn import Row
from tracker.store.hot_people import HotPeople
from tracker.store.queries import Queries
from tracker.store.sqlite_writer import SqliteDialect, WriterConn
from tracker.store.url_ids import NameKey, RememberedIds, UrlIds

T = TypeVar("T")
_MAX_UNITS_PER_COMMIT = 512
_BUSY_TIMEOUT_MS = 30_000
_BUSY_RETRY_SECONDS = 0.001
# Read units running at once; one more waits for a free connection.  Each connection is
# an aiosqlite thread with its own page cache.  Measured on 2 cores, 50k persons: a one-row
# read waited 135 ms (p50) behind two lead counts on one connection, 0.2 ms with four, and
# small reads went from 2.8k to 4.4k a second.
_READERS = 4
# Readers see the database file through a memory map (SQLite caps it at 2 GiB; pages past that are
# read as before): a page is then a memory access rather than a read(2) into the connection's own
# 2 MB cache.  Read units are the ones that walk many pages (a what-if reads every event of its
# people, scattered over the file): measured on 100,000 people and 5,000,000 events, reading a
# page of people's events went from 3.4 to 2.2 µs a row and the what-if from 52–55 s to 44–45 s; on the
# console, a lead page of 2,000 events from 107 to 94 ms and the dashboard from 83 to 61 ms.
# The writer keeps read(2): a beacon call touches few pages, all cached (unchanged, measured).
_READ_MMAP_BYTES = 2 << 30
# Any other change of a remembered row drops it (see ``hot_people``).  Temporary: they belong to
# the writer connection, whose callbacks they call; visitors' ip_prefix is not in a record.
_FORGET_CHANGED_ROWS = (
    "CREATE TEMP TRIGGER hot_person_updated AFTER UPDATE ON persons BEGIN SELECT forget_person(OLD.id); END",
    "CREATE TEMP TRIGGER hot_person_deleted AFTER DELETE ON persons BEGIN SELECT forget_person(OLD.id); END",
    "CREATE TEMP TRIGGER hot_visitor_updated AFTER UPDATE OF site_id, person_id, visits, device, browser,"
    " created_at, last_seen_at, bot ON visitors BEGIN SELECT forget_visitor(OLD.id); END",
    "CREATE TEMP TRIGGER hot_visitor_deleted AFTER DELETE ON visitors BEGIN SELECT forget_visitor(OLD.id); END",
    # A URL deleted (its last event erased) must not be named again by a remembered id (``url_ids``).
    "CREATE TEMP TRIGGER url_deleted AFTER DELETE ON urls BEGIN SELECT forget_url(OLD.text, OLD.title); END",
)


class _AsyncConn(SqliteDialect):
    """A read connection through aiosqlite's worker thread."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db

    async def execute(self, sql: str, *args: Any) -> int:
        cursor = await self.db.execute(sql, args)
        return cursor.rowcount

    async def defer(self, table: str, sql: str, *args: Any, key: Any = None) -> None:
        await self.execute(sql, *args)

    async def next_event_id(self) -> int | None:
        return None

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self.db.executemany(sql, rows)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        row: Row | None = await (await self.db.execute(sql, args)).fetchone()
        return row

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        return list(await (await self.db.execute(sql, args)).fetchall())

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchone(sql, *args)
        return None if row is None else row[0]


class SqliteStore(Store):
    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        if synchronous.upper() not in {"FULL", "NORMAL"}:
            raise ValueError("synchronous must be FULL or NORMAL")
        self.path = path
        self.synchronous = synchronous.upper()
        self._db: sqlite3.Connection | None = None
        self._readers: list[aiosqlite.Connection] = []
        self._idle_readers: list[aiosqlite.Connection] = []
        # Counts the idle readers.  It hands them out first come, first served, where a queue
        # would let a read that just finished take its connection back before one waiting.
        self._free_readers = asyncio.Semaphore(_READERS)
        self._queue: asyncio.Queue[Queued | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.hot = HotPeople()
        self.url_ids = UrlIds()
        self.ledger_names = RememberedIds[NameKey]()
        # The database's change counter as the writer last saw it (``PRAGMA data_version``).
        self._data_version: int | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        # FULL fsyncs the WAL on every commit: nothing acknowledged is lost, even on power
        # loss.  NORMAL is crash-safe for the process but may lose the last commits on
        # power loss; it is opt-in (--sqlite-synchronous normal).
        db.execute(f"PRAGMA synchronous={self.synchronous}")
        db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        await self._migrate(db)
        db.execute("PRAGMA busy_timeout=0")
        db.create_function("forget_person", 1, self.hot.forget_person)
        db.create_function("forget_visitor", 1, self.hot.forget_visitor)
        db.create_function("forget_url", 2, lambda text, title: self.url_ids.forget((text, title)))
        for trigger in _FORGET_CHANGED_ROWS:
            db.execute(trigger)
        self._db = db
        for _ in range(_READERS):
            # Transactions are the read unit's own (BEGIN … ROLLBACK), none implied by the module.
            reader = await aiosqlite.connect(self.path, isolation_level=None)
            reader.row_factory = sqlite3.Row
            await reader.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            await reader.execute(f"PRAGMA mmap_size={_READ_MMAP_BYTES}")
            self._readers.append(reader)
        self._idle_readers = list(self._readers)
        self._writer = asyncio.create_task(self._write_loop(), name="sqlite-group-commit")

    async def _migrate(self, db: sqlite3.Connection) -> None:
        # BEGIN IMMEDIATE takes the write lock first: worker processes starting together
        # apply the migrations one at a time.
        db.execute("BEGIN IMMEDIATE")
        try:
            await migrations.apply(WriterConn(db, self.hot, self.url_ids, self.ledger_names))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        if self._writer is not None:
            await self._queue.put(None)
            await self._writer
            self._writer = None
        for reader in self._readers:
            await reader.close()
        self._readers.clear()
        if self._db is not None:
            self._db.close()
            self._db = None

    async def write(self, unit: Unit[T], *, bulk: bool = False) -> T:
        # ``bulk`` changes nothing: SQLite has one writer, and every unit takes its turn under its lock.
        if self._writer is None or self._writer.done():
            raise RuntimeError("store is not open")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put((unit, future))
        return await future

    async def read(self, unit: Unit[T]) -> T:
        if not self._readers:
            raise RuntimeError("store is not open")
        # One unit per connection at a time: a unit's statements then follow each other
        # on it, and the others run meanwhile on the other connections.
        async with self._free_readers:
            reader = self._idle_readers.pop()
            try:
                # One transaction, so one snapshot: statement by statement, a merge committed
                # between a unit's reads would show it a person resolved and then gone.
                await reader.execute("BEGIN")
                try:
                    return await unit(Queries(_AsyncConn(reader)))
                finally:
                    if reader.in_transaction:
                        await reader.execute("ROLLBACK")
            finally:
                self._idle_readers.append(reader)

    async def backup(self, target: Path, progress: Callable[[int, int], None] | None = None) -> None:
        """SQLite's online backup from a connection of its own, page by page, in a thread.

        The copy is one consistent snapshot; writers carry on while it runs.
        """

        def copy() -> None:
            source = sqlite3.connect(self.path)
            destination = sqlite3.connect(target)
            try:
                with destination:
                    source.backup(destination, pages=1024, progress=_reporter(progress))
            finally:
                destination.close()
                source.close()

        target.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(copy)

    async def _write_loop(self) -> None:
        assert self._db is not None
        db = self._db
        writer = WriterConn(db, self.hot, self.url_ids, self.ledger_names)
        stopping = False
        while not stopping:
            batch, stopping = await next_batch(self._queue, _MAX_UNITS_PER_COMMIT)
            if batch:
                await self._commit_batch(db, writer, batch)

    async def _commit_batch(self, db: sqlite3.Connection, writer: WriterConn, batch: list[Queued]) -> None:
        live = [(unit, future) for unit, future in batch if not future.cancelled()]
        if not live or not await self._begin(db, live):
            return
        writer.begin()
        self._forget_if_changed_elsewhere(db, writer)
        # Units almost never fail (input is checked before a unit is queued), so they first run
        # without a savepoint each: two statements and a statement journal fewer per request.
        # If one does fail, the whole transaction is undone and the batch runs again with a
        # savepoint around each unit, so the failure takes back only its own unit's writes.
        outcomes = await _run_units(db, writer, live, isolated=False)
        if outcomes is None:
            db.execute("ROLLBACK")
            _undone(writer)
            if not await self._begin(db, live):
                return
            writer.begin()
            outcomes = await _run_units(db, writer, live, isolated=True)
            assert outcomes is not None
        try:
            await asyncio.to_thread(db.execute, "COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            _undone(writer)
            outcomes = [(future, None, exc) for future, _, _ in outcomes]
        for future, result, error in outcomes:
            settle(future, result, error)

    def _forget_if_changed_elsewhere(self, db: sqlite3.Connection, writer: WriterConn) -> None:
        """Drop the remembered people and ids if another connection committed since the writer
        last looked.

        Read inside the transaction: nobody else can commit until it ends.
        """
        version = int(db.execute("PRAGMA data_version").fetchone()[0])
        if version != self._data_version:
            writer.forget_remembered()
            self._data_version = version

    async def _begin(self, db: sqlite3.Connection, batch: list[Queued]) -> bool:
        """BEGIN IMMEDIATE; on failure every unit of the batch gets the error."""
        try:
            await _begin_immediate(db)
        except sqlite3.Error as exc:
            for _, future in batch:
                settle(future, None, exc)
            return False
        return True


Outcomes = list[tuple[asyncio.Future[Any], Any, BaseException | None]]


async def _run_units(
    db: sqlite3.Connection, writer: WriterConn, batch: list[Queued], *, isolated: bool
) -> Outcomes | None:
    """Run each unit in the open transaction; None when one failed and ``isolated`` is off.

    Deferred rows are written at the end of each unit when isolated (inside its savepoint, so a
    failing row is its unit's failure), else once for the whole batch.
    """
    queries = Queries(writer)
    outcomes: Outcomes = []
    for unit, future in batch:
        if isolated:
            db.execute("SAVEPOINT unit")
        try:
            result = await unit(queries)
            if isolated:
                writer.flush()
        except Exception as exc:
            if not isolated:
                return None
            db.execute("ROLLBACK TO unit")
            db.execute("RELEASE unit")
            _undone(writer)
            outcomes.append((future, None, exc))
        else:
            if isolated:
                db.execute("RELEASE unit")
            outcomes.append((future, result, None))
    if not isolated:
        try:
            writer.flush()
        except Exception:  # sqlite3's errors, and OverflowError for an integer SQLite cannot hold
            return None
    return outcomes


def _undone(writer: WriterConn) -> None:
    """After a rollback: nothing deferred is to be written, nothing remembered can be trusted."""
    writer.discard()
    writer.forget_remembered()


def _reporter(progress: Callable[[int, int], None] | None) -> Callable[[int, int, int], None] | None:
    """sqlite3's backup callback (status, remaining, total) as (done, total)."""
    if progress is None:
        return None
    return lambda _status, remaining, total: progress(total - remaining, total)


async def _begin_immediate(db: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting on the loop while another worker process holds the write lock.

    busy_timeout is 0 on the writer, so a held lock fails at once.  SQLite's own busy handler
    (in a thread) sleeps longer and longer between tries, up to 100 ms: under load the other
    worker took the lock back every time and a request waited seconds (p99 1.8 s at saturation
    with --workers 2).  The lock is held for one group commit, about a millisecond, so trying
    again every millisecond is fair; meanwhile this loop keeps queueing units for the batch.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            # The primary code: SQLITE_BUSY, whatever extended code comes with it.
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        await asyncio.sleep(_BUSY_RETRY_SECONDS)
