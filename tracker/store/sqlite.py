"""The embedded default store: SQLite in WAL mode with group commit.

Why statements run on the event-loop thread: a statement on a local WAL database
takes microseconds, while a hop to a worker thread (what aiosqlite does per call)
costs more than the statement.  Only the calls that may wait (BEGIN IMMEDIATE on a
lock held by another worker process, and the fsync'ing COMMIT) go to a thread, and
while a COMMIT is in flight the loop keeps accepting requests whose units queue up
for the next transaction.  Reads use aiosqlite on separate connections, so a large
sales-API read never holds up ingest.
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
from tracker.store.base import Store, Unit
from tracker.store.conn import Row
from tracker.store.queries import Queries

T = TypeVar("T")
_MAX_UNITS_PER_COMMIT = 512
_BUSY_TIMEOUT_MS = 30_000


class _SyncConn:
    """The write connection: runs statements inline (see module docstring)."""

    dialect = "sqlite"

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    async def execute(self, sql: str, *args: Any) -> int:
        return self.db.execute(sql, args).rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.db.executemany(sql, rows)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        row: Row | None = self.db.execute(sql, args).fetchone()
        return row

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        return list(self.db.execute(sql, args).fetchall())

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = self.db.execute(sql, args).fetchone()
        return None if row is None else row[0]


class _AsyncConn:
    """A read connection through aiosqlite's worker thread."""

    dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db

    async def execute(self, sql: str, *args: Any) -> int:
        cursor = await self.db.execute(sql, args)
        return cursor.rowcount

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
    dialect = "sqlite"

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        if synchronous.upper() not in {"FULL", "NORMAL"}:
            raise ValueError("synchronous must be FULL or NORMAL")
        self.path = path
        self.synchronous = synchronous.upper()
        self._db: sqlite3.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._read_lock = asyncio.Lock()
        self._queue: asyncio.Queue[tuple[Unit[Any], asyncio.Future[Any]] | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

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
        self._migrate(db)
        db.execute("PRAGMA busy_timeout=0")
        self._db = db
        reader = await aiosqlite.connect(self.path)
        reader.row_factory = sqlite3.Row
        await reader.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        self._reader = reader
        self._writer = asyncio.create_task(self._write_loop(), name="sqlite-group-commit")

    def _migrate(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(migrations.SCHEMA_TABLE)
            done = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
            for migration in migrations.load(self.dialect):
                if migration.version in done:
                    continue
                for statement in migration.statements:
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, time.time()),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        if self._writer is not None:
            await self._queue.put(None)
            await self._writer
            self._writer = None
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        if self._db is not None:
            self._db.close()
            self._db = None

    async def write(self, unit: Unit[T]) -> T:
        if self._writer is None or self._writer.done():
            raise RuntimeError("store is not open")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put((unit, future))
        return await future

    async def read(self, unit: Unit[T]) -> T:
        if self._reader is None:
            raise RuntimeError("store is not open")
        async with self._read_lock:
            return await unit(Queries(_AsyncConn(self._reader)))

    async def backup(self, target: Path, progress: Callable[[int, int], None] | None = None) -> None:
        """SQLite's online backup from a connection of its own, page by page, in a thread.

        The copy is one consistent snapshot; writers carry on while it runs.
        """

        def copy() -> None:
            source = sqlite3.connect(self.path)
            destination = sqlite3.connect(target)
            try:
                with destination:
                    report = (
                        (lambda _status, remaining, total: progress(total - remaining, total)) if progress else None
                    )
                    source.backup(destination, pages=1024, progress=report)
            finally:
                destination.close()
                source.close()

        target.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(copy)

    async def _write_loop(self) -> None:
        assert self._db is not None
        db = self._db
        queries = Queries(_SyncConn(db))
        stopping = False
        while not stopping:
            item = await self._queue.get()
            batch: list[tuple[Unit[Any], asyncio.Future[Any]]] = []
            while item is not None:
                batch.append(item)
                if len(batch) >= _MAX_UNITS_PER_COMMIT or self._queue.empty():
                    break
                item = self._queue.get_nowait()
            stopping = item is None
            if batch:
                await self._commit_batch(db, queries, batch)

    async def _commit_batch(
        self, db: sqlite3.Connection, queries: Queries, batch: list[tuple[Unit[Any], asyncio.Future[Any]]]
    ) -> None:
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            try:
                # busy_timeout is 0 on the writer, so this never blocks the loop; only when
                # another worker process holds the write lock do we wait, in a thread.
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                await asyncio.to_thread(_begin_waiting, db)
        except sqlite3.Error as exc:
            for _, future in batch:
                _settle(future, None, exc)
            return
        for unit, future in batch:
            if future.cancelled():
                continue  # the client went away before its work started: nothing to do
            db.execute("SAVEPOINT unit")
            try:
                result = await unit(queries)
            except Exception as exc:
                db.execute("ROLLBACK TO unit")
                db.execute("RELEASE unit")
                outcomes.append((future, None, exc))
            else:
                db.execute("RELEASE unit")
                outcomes.append((future, result, None))
        try:
            await asyncio.to_thread(db.execute, "COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            outcomes = [(future, None, exc) for future, _, _ in outcomes]
        for future, result, error in outcomes:
            _settle(future, result, error)


def _reporter(progress: Callable[[int, int], None] | None) -> Callable[[int, int, int], None] | None:
    """sqlite3's backup callback (status, remaining, total) as (done, total)."""
    if progress is None:
        return None
    return lambda _status, remaining, total: progress(total - remaining, total)


def _begin_waiting(db: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting up to the busy timeout for another process's write lock."""
    db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    try:
        db.execute("BEGIN IMMEDIATE")
    finally:
        db.execute("PRAGMA busy_timeout=0")


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
