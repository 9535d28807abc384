"""PostgreSQL store for many instances behind a load balancer (asyncpg, pooled).

Units are group-committed: a few writer tasks each take every unit queued meanwhile and run them
one after the other in one READ COMMITTED transaction on one pooled connection, so BEGIN, COMMIT,
the pool and the transaction cost a round trip and their objects per batch, not per unit, and
PostgreSQL flushes its WAL once for them.  A unit is acknowledged only once its batch committed.
If any unit of a batch fails, the transaction is rolled back and each unit runs again alone in its
own transaction, so one failure takes back only its own unit.

The statements are the same as SQLite's (the query mixins), with ``?`` rewritten to ``$n``.
Correctness across instances comes from row locks, not from the process: a unit
locks the person it changes (``SELECT … FOR UPDATE``) before reading its state, so
two instances never score the same person from the same stale state (units of one batch share
its transaction, so they see each other's writes as if run in sequence).  A unit that
loses a race (deadlock, unique e-mail taken meanwhile, serialization failure, a URL
another instance deleted meanwhile) is rolled back and run again from scratch; units
are written to be re-runnable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from tracker.store import migrations
from tracker.store.base import Queued, Store, Unit, next_batch, settle
from tracker.store.conn import Row
from tracker.store.deferred import Deferred
from tracker.store.hot_people import HotPeople
from tracker.store.pg_upkeep import UPKEEP_SECONDS, autovacuum_is_on, upkeep
from tracker.store.queries import Queries
from tracker.store.url_ids import NameKey, RememberedIds, UrlIds

T = TypeVar("T")
log = logging.getLogger("tracker.store.postgres")
_RETRIES = 8
# Batches in flight at once, each on a connection of its own: one batch waits for PostgreSQL while
# the next one runs, and a batch waiting for a row lock (another instance's unit) holds up only itself.
_WRITERS = 2
# Large units (``write(unit, bulk=True)``: a Segment batch's) have writers of their own.  A batch's Python work
# and its statements take turns on one connection, so more of them in flight keep both busy: measured on
# /v1/batch alone, 9,510 events/s with two writers, 11,100 with four.  Four shared writers cost a beacon call
# 8–13 % more CPU in the server and 9–26 % more in PostgreSQL, as its group commits got smaller; apart,
# beacon calls keep their two and their groups.
_BULK_WRITERS = 4
_MAX_UNITS_PER_COMMIT = 64
# How long a batch waits for a row lock before it gives way and its units run each alone (they wait as long as
# it takes).  Batches lock many people in no set order, so two of them (two writers, two instances) can wait for
# each other: PostgreSQL would only tell after its deadlock_timeout (1 s), holding up every unit of both.  Units
# hold a lock for a batch's time, a few milliseconds.
_BATCH_LOCK_TIMEOUT = "100ms"
_RETRYABLE = (
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.UniqueViolationError,
)
# An event named a URL that another instance deleted meanwhile (``url_ids``): run again, ids forgotten.
_GONE_URL_KEYS = frozenset({"events_url_fk", "events_referrer_fk"})
# Any constant works as long as every instance uses the same one.
_MIGRATION_LOCK = 7_240_001
_PLACEHOLDER = re.compile(r"\?")
# A locking SELECT that also takes event ids: the CTE's rows are locked before the outer list is computed,
# so the ids are taken after the lock, as an INSERT … RETURNING id after it would have taken them.
_TAKING_EVENT_IDS = (
    "WITH locked AS MATERIALIZED ({select}) SELECT locked.*,"
    " ARRAY(SELECT nextval('events_id_seq') FROM generate_series(1, ?)) AS event_ids FROM locked"
)
# A deferred statement adding plain rows: several rows of it go in one multi-row VALUES.
_PLAIN_INSERT = re.compile(r"^INSERT INTO \w+ \([^)]*\) VALUES (\([?, ]+\))$")
# A deferred upsert: several rows of it go in one multi-row VALUES too, if no two of them have the same conflict
# key (one statement may not change a row twice).
_UPSERT = re.compile(r"^INSERT INTO \w+ \(([^)]*)\) VALUES (\([?, ]+\)) ON CONFLICT \(([^)]*)\) ")
# Rows of a multi-row VALUES at most: a beacon call's usual few.  Each count is a statement text of its own
# (prepared per connection, in asyncpg's cache of 100), so larger batches go in an executemany of this many.
_MAX_ROWS = 8
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


# Statements keep SQLite's own ``?`` rather than a neutral placeholder that both backends
# would then have to rewrite: SQLite runs them as written, and here each distinct statement
# is rewritten once (cached; the dynamic ones differ only in their number of IN marks, so
# they are few).  A blind rewrite is exact only while no statement holds a literal ``?``;
# tests/test_postgres.py proves that by reading every string of the store's SQL.
@lru_cache(maxsize=512)
def to_dollar(sql: str) -> str:
    """``?`` placeholders to ``$1, $2, …``."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


@lru_cache(maxsize=512)
def _upsert_parts(sql: str) -> tuple[int, str, tuple[int, ...]] | None:
    """Where an upsert's VALUES row ends, its marks, and the positions of its conflict key among its values."""
    found = _UPSERT.match(sql)
    if found is None:
        return None
    columns = [name.strip() for name in found[1].split(",")]
    key = [name.strip() for name in found[3].split(",")]
    if not set(key) <= set(columns):
        return None
    return found.end(2), found[2], tuple(columns.index(name) for name in key)


def _distinct_upserts(sql: str, rows: Sequence[Sequence[Any]]) -> str | None:
    """``sql`` with a VALUES row for each of ``rows``, if it is an upsert and their keys differ; else None."""
    parts = _upsert_parts(sql)
    if parts is None or len(rows) > _MAX_ROWS:
        return None
    end, marks, key = parts
    if len({tuple(row[i] for i in key) for row in rows}) < len(rows):
        return None
    return _with_rows(sql, end, marks, len(rows))


def _with_rows(sql: str, end: int, marks: str, count: int) -> str:
    """``sql`` whose VALUES row (``marks``, ending at ``end``) is written ``count`` times: one multi-row VALUES."""
    return sql[:end] + f", {marks}" * (count - 1) + sql[end:]


class _PgConn:
    dialect = "postgresql"
    # Other instances write the same rows: every unit reads (and locks) the person it changes.
    hot: HotPeople | None = None

    def __init__(
        self,
        conn: asyncpg.Connection,
        url_ids: UrlIds | None = None,
        ledger_names: RememberedIds[NameKey] | None = None,
    ) -> None:
        self.conn = conn
        self.url_ids = url_ids
        self.ledger_names = ledger_names
        self._deferred = Deferred()
        self._event_ids: list[int] = []

    def lock_rows(self, *tables: str, skip_locked: bool = False) -> str:
        # Ids taken before another lock would come before the events of whoever holds it: given up.
        self._event_ids.clear()
        of = f" OF {', '.join(tables)}" if tables else ""
        return f" FOR UPDATE{of}{' SKIP LOCKED' if skip_locked else ''}"

    async def execute(self, sql: str, *args: Any) -> int:
        await self.flush()
        status: str = await self.conn.execute(to_dollar(sql), *args)
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self.flush()
            await self.conn.executemany(to_dollar(sql), rows)

    async def defer(self, table: str, sql: str, *args: Any, key: Any = None) -> None:
        # Rows of one statement then go in one executemany: pipelined, one round trip.
        if self._deferred.must_flush_before(table, sql, key):
            await self.flush()
        self._deferred.add(table, sql, args, key)

    async def next_event_id(self) -> int | None:
        return self._event_ids.pop(0) if self._event_ids else None

    async def flush(self) -> None:
        """Write the deferred rows (before any other statement, and at the end of the unit)."""
        if not self._deferred:
            return
        combined: list[tuple[str, list[Any]]] = []
        alone: list[tuple[str, list[Sequence[Any]]]] = []
        for sql, rows in self._deferred.take().items():
            plain = _PLAIN_INSERT.match(sql)
            if len(rows) == 1 or (plain is not None and len(rows) <= _MAX_ROWS):
                clause = _with_rows(sql, len(sql), plain[1], len(rows)) if plain is not None else sql
                combined.append((clause, [value for row in rows for value in row]))
            elif plain is not None:
                # Many new rows (a Segment batch's events): ``_MAX_ROWS`` a statement, the rest in one of
                # its own.  PostgreSQL pays per statement run as much as per row: 100 event rows measured
                # 25 -> 16 CPU-µs a row in the database.
                whole = len(rows) - len(rows) % _MAX_ROWS
                many = _with_rows(sql, len(sql), plain[1], _MAX_ROWS)
                chunks: list[Sequence[Any]] = [
                    [v for row in rows[i : i + _MAX_ROWS] for v in row] for i in range(0, whole, _MAX_ROWS)
                ]
                alone.append((many, chunks))
                if whole < len(rows):
                    rest = rows[whole:]
                    alone.append((_with_rows(sql, len(sql), plain[1], len(rest)), [[v for row in rest for v in row]]))
            elif (upserts := _distinct_upserts(sql, rows)) is not None:
                # A unit's scores: one row each, in any order, as no two rows change the same one.
                combined.append((upserts, [value for row in rows for value in row]))
            else:
                alone.append((sql, rows))
        if combined:
            # A beacon call's usual case (its events, their ledger rows, its scores, the person, the
            # device): one statement and one round trip rather than one each.  Each statement is of
            # another table, or saves other rows of one (``Deferred`` writes a row's pending save before
            # another statement saves it again), and none reads another's rows, so running them side by
            # side in data-modifying WITH clauses, on one snapshot, changes nothing; the rows of one go
            # in one multi-row VALUES, in their order.
            *clauses, (last, _) = combined
            sql = "".join(f"{'WITH' if i == 0 else ','} w{i} AS ({clause}) " for i, (clause, _) in enumerate(clauses))
            await self.conn.execute(to_dollar(sql + last), *[value for _, args in combined for value in args])
        # Rows that change one row twice (upserts of one key), or very many: one pipelined executemany each.
        for sql, rows in alone:
            await self.conn.executemany(to_dollar(sql), rows)

    async def fetch_locked(self, sql: str, *args: Any, event_ids: int = 0) -> Row | None:
        if not event_ids:
            return await self.fetchone(sql, *args)
        row = await self.fetchone(_TAKING_EVENT_IDS.format(select=sql), *args, event_ids)
        if row is not None:
            self._event_ids = list(row["event_ids"])
        return row

    async def fetchall_locked(self, sql: str, *args: Any, event_ids: int = 0) -> list[Row]:
        if not event_ids:
            return await self.fetchall(sql, *args)
        rows = await self.fetchall(_TAKING_EVENT_IDS.format(select=sql), *args, event_ids)
        if rows:  # every row carries the same ids: they are taken once, after every row is locked
            self._event_ids = list(rows[0]["event_ids"])
        return rows

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        await self.flush()
        row: Row | None = await self.conn.fetchrow(to_dollar(sql), *args)
        return row

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        await self.flush()
        return list(await self.conn.fetch(to_dollar(sql), *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        await self.flush()
        return await self.conn.fetchval(to_dollar(sql), *args)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back to the pool.

    asyncpg's default reset (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL) cost a round trip per
    unit; units leave nothing behind: their transactions always end, their only advisory lock is a
    transaction's, and they never SET, LISTEN or declare cursors (``search_path`` is a connection
    setting, given when connecting).
    """


def split_schema(url: str) -> tuple[str, str | None]:
    """Take an optional ``schema=NAME`` query parameter off a PostgreSQL URL."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query)
    schema = next((value for key, value in params if key == "schema"), None)
    if schema is not None and not _SCHEMA.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    rest = urlencode([(k, v) for k, v in params if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


class PostgresStore(Store):
    def __init__(self, url: str, *, pool_size: int = 10, keep_up: bool = True) -> None:
        self.url, self.schema = split_schema(url)
        self.pool_size = pool_size
        self.keep_up = keep_up
        self._pool: asyncpg.Pool | None = None
        # The writers' connections, on which a lock is waited for ``_BATCH_LOCK_TIMEOUT`` at most.
        self._batch_pool: asyncpg.Pool | None = None
        # Ids of URLs committed by this process's units (or read by them): an event naming one is
        # refused by the foreign key if another instance deleted it meanwhile.
        self.url_ids = UrlIds()
        # Ids of the ledger's names committed by this process's units (or read by them): never deleted.
        self.ledger_names = RememberedIds[NameKey]()
        self._queue: asyncio.Queue[Queued | None] = asyncio.Queue()
        self._bulk_queue: asyncio.Queue[Queued | None] = asyncio.Queue()
        # Each writer with the queue it takes units from.
        self._writers: list[tuple[asyncio.Task[None], asyncio.Queue[Queued | None]]] = []
        self._upkeep: asyncio.Task[None] | None = None

    async def open(self) -> None:
        settings = {"search_path": self.schema} if self.schema else {}
        if self.schema:
            bootstrap = await asyncpg.connect(self.url)
            try:
                # Instances starting together: CREATE SCHEMA IF NOT EXISTS is no guard against one another
                # (both see no schema, the second fails on PostgreSQL's catalog), so they take turns.
                async with bootstrap.transaction():
                    await bootstrap.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
                    await bootstrap.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            finally:
                await bootstrap.close()
        self._pool = await asyncpg.create_pool(
            self.url, min_size=1, max_size=self.pool_size, server_settings=settings, reset=_keep_session
        )
        await self._migrate()
        self._batch_pool = await asyncpg.create_pool(
            self.url,
            min_size=0,
            max_size=_WRITERS + _BULK_WRITERS,
            server_settings={**settings, "lock_timeout": _BATCH_LOCK_TIMEOUT},
            reset=_keep_session,
        )
        self._writers = [
            (asyncio.create_task(self._write_loop(queue), name=name), queue)
            for count, queue, name in (
                (_WRITERS, self._queue, "postgres-group-commit"),
                (_BULK_WRITERS, self._bulk_queue, "postgres-bulk-commit"),
            )
            for _ in range(count)
        ]
        if not self.keep_up:
            return
        async with self._pool.acquire() as conn:
            autovacuum = await autovacuum_is_on(conn)
        if not autovacuum:
            log.warning(
                "autovacuum is off in this PostgreSQL: tracker analyzes and vacuums its own tables when"
                " autovacuum would have (checked every %d s)",
                UPKEEP_SECONDS,
            )
            self._upkeep = asyncio.create_task(self._keep_up(), name="postgres-upkeep")

    async def _migrate(self) -> None:
        assert self._pool is not None
        async with self._pool.acquire() as conn, conn.transaction():
            # Instances starting together apply migrations one at a time.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await migrations.apply(_PgConn(conn))

    async def _keep_up(self) -> None:
        """``pg_upkeep`` every ``UPKEEP_SECONDS`` until the store closes."""
        pool = self._require_pool()
        while True:
            await asyncio.sleep(UPKEEP_SECONDS)
            try:
                async with pool.acquire() as conn:
                    done = await upkeep(conn)
            # asyncpg's own errors too (InterfaceError: a pool or connection closed): a loop ended by one
            # would make close() raise it.
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                log.warning("analyzing and vacuuming the tables failed, tried again later: %s", exc)
            else:
                if done.analyzed or done.vacuumed:
                    log.info("analyzed %s; vacuumed %s", ", ".join(done.analyzed), ", ".join(done.vacuumed))

    async def close(self) -> None:
        if self._upkeep is not None:
            self._upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._upkeep
            self._upkeep = None
        # Every writer stops at a None of its own, once the units queued before it are committed.
        for _, queue in self._writers:
            await queue.put(None)
        await asyncio.gather(*(writer for writer, _ in self._writers))
        self._writers = []
        if self._batch_pool is not None:
            await self._batch_pool.close()
            self._batch_pool = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def write(self, unit: Unit[T], *, bulk: bool = False) -> T:
        if not self._writers or any(writer.done() for writer, _ in self._writers):
            raise RuntimeError("store is not open")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        (self._bulk_queue if bulk else self._queue).put_nowait((unit, future))
        return await future

    async def _write_loop(self, queue: asyncio.Queue[Queued | None]) -> None:
        stopping = False
        while not stopping:
            batch, stopping = await next_batch(queue, _MAX_UNITS_PER_COMMIT)
            live = [(unit, future) for unit, future in batch if not future.cancelled()]
            if len(live) == 1:
                await _settled(live[0][1], self._write_alone(live[0][0]))
            elif live:
                await self._commit_batch(live)

    async def _commit_batch(self, batch: list[Queued]) -> None:
        """Run the units of ``batch`` in one transaction; if one fails, each again in a transaction of its own."""
        assert self._batch_pool is not None
        pool = self._batch_pool
        url_ids = UrlIds(behind=self.url_ids)
        ledger_names = RememberedIds[NameKey](behind=self.ledger_names)
        results: list[Any] = []
        try:
            async with pool.acquire() as conn, conn.transaction():
                for unit, _ in batch:
                    writer = _PgConn(conn, url_ids, ledger_names)
                    result = await unit(Queries(writer))
                    await writer.flush()
                    results.append(result)
        except asyncpg.PostgresError:
            # The database refused a statement (a lock not granted in time too) or the COMMIT: it rolled back.
            await self._one_by_one(batch)
            return
        except Exception as exc:
            if len(results) < len(batch):
                # A unit failed, or the connection did, before COMMIT was sent: nothing was committed.
                await self._one_by_one(batch)
                return
            # COMMIT got no answer (a lost connection): committed or not, nobody can say, so no unit runs again.
            for _, future in batch:
                settle(future, None, exc)
            return
        url_ids.settle()
        ledger_names.settle()
        for (_, future), result in zip(batch, results, strict=True):
            settle(future, result, None)

    async def _one_by_one(self, batch: list[Queued]) -> None:
        await asyncio.gather(*(_settled(future, self._write_alone(unit)) for unit, future in batch))

    async def _write_alone(self, unit: Unit[T]) -> T:
        """``unit`` in a transaction of its own, run again from scratch when it lost a race."""
        pool = self._require_pool()
        for attempt in range(_RETRIES):
            async with pool.acquire() as conn:
                url_ids = UrlIds(behind=self.url_ids)
                ledger_names = RememberedIds[NameKey](behind=self.ledger_names)
                try:
                    async with conn.transaction():
                        writer = _PgConn(conn, url_ids, ledger_names)
                        result = await unit(Queries(writer))
                        await writer.flush()
                    url_ids.settle()
                    ledger_names.settle()
                    return result
                except _RETRYABLE:
                    if attempt == _RETRIES - 1:
                        raise
                except asyncpg.exceptions.ForeignKeyViolationError as exc:
                    if exc.constraint_name not in _GONE_URL_KEYS or attempt == _RETRIES - 1:
                        raise
                    self.url_ids.clear()
        raise AssertionError("unreachable")

    async def read(self, unit: Unit[T]) -> T:
        pool = self._require_pool()
        # One snapshot for the whole unit: statement by statement (READ COMMITTED), a merge
        # committed between a unit's reads would show it a person resolved and then gone.
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            reader = _PgConn(conn)
            result = await unit(Queries(reader))
            await reader.flush()  # a read unit defers nothing; if one did, read-only says so rather than lose it
            return result

    async def backup(self, target: Path, progress: Callable[[int, int], None] | None = None) -> None:
        raise NotImplementedError(
            f"back PostgreSQL up with its own tools, e.g. pg_dump --format=custom --file={target} DATABASE_URL"
        )

    def _require_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("store is not open")
        return self._pool


async def _settled(future: asyncio.Future[T], work: Awaitable[T]) -> None:
    """Await ``work`` and hand its result or error to ``future``."""
    try:
        result = await work
    except Exception as exc:
        settle(future, None, exc)
    else:
        settle(future, result, None)
