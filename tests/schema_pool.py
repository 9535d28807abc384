"""PostgreSQL schemas for the tests, migrated once and emptied between tests.

Migrating a new schema costs ~0.2–0.4 s of DDL and dropping it ~0.05 s; a server test runs on
PostgreSQL ~500 times.  A schema handed back is emptied (every row deleted, every sequence back
at its start: the state a fresh migration leaves) and kept for the next test, but only if its
catalog is still exactly the migrated one: a test that changed the schema itself gets it dropped.
Tests of migrating a new schema ask for ``fresh`` and get an empty one of their own.

The pool's own statements go through one connection kept for the whole session, on an event loop
of its own in a thread (each test has its own loop, which a connection cannot outlive): a new
connection per test cost ~25 ms, half of it its first catalog query on a cold backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import asyncpg

from tracker.store import open_store

T = TypeVar("T")

# Everything a migration creates in a schema, by name (the schema's own name left out), and the
# versions it records: two schemas with the same catalog print the same lines.
_CATALOG = """
SELECT 'rel ' || c.relname || ' ' || c.relkind::text FROM pg_class c WHERE c.relnamespace = $1::regnamespace
UNION ALL
SELECT 'col ' || c.relname || ' ' || a.attnum || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || ' ' || a.attnotnull || ' ' || a.attidentity::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = $1::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'idx ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relnamespace = $1::regnamespace
UNION ALL
SELECT 'con ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = $1::regnamespace
UNION ALL
SELECT 'fn ' || p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = $1::regnamespace
UNION ALL
SELECT 'trg ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = $1::regnamespace
"""
_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'"
# A fresh sequence's state: its start value, not yet called.
_RESTART_SEQUENCES = """
SELECT setval(c.oid::regclass, s.seqstart, false) FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
 WHERE c.relnamespace = $1::regnamespace
"""


class SchemaPool:
    """Migrated schemas of the database at ``url``, each used by one test at a time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._idle: list[str] = []
        self._all: set[str] = set()
        self._migrated: list[str] | None = None  # the catalog a migration leaves
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._conn: asyncpg.Connection | None = None
        self._lock: asyncio.Lock | None = None  # one statement at a time on the connection

    @contextlib.asynccontextmanager
    async def schema(self, *, fresh: bool = False) -> AsyncIterator[str]:
        """A schema for one test: a clean migrated one, or with ``fresh`` a new empty one."""
        name = self._new_name() if fresh else await self._take()
        try:
            yield name
        finally:

            async def give_back(conn: asyncpg.Connection) -> None:
                if fresh or not await self._emptied(conn, name):
                    await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
                    self._all.discard(name)
                else:
                    self._idle.append(name)

            await self._on_own_connection(give_back)

    async def drop_all(self) -> None:
        if self._all:

            async def drop(conn: asyncpg.Connection) -> None:
                for name in sorted(self._all):
                    await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")

            await self._on_own_connection(drop)
        self._idle.clear()
        self._all.clear()
        if self._loop is not None and self._thread is not None:
            if self._conn is not None:
                asyncio.run_coroutine_threadsafe(self._conn.close(), self._loop).result()
                self._conn = None
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
            self._loop = self._thread = self._lock = None

    def _new_name(self) -> str:
        return f"t_{uuid.uuid4().hex[:16]}"

    async def _take(self) -> str:
        if self._idle:
            return self._idle.pop()
        # Migrated by the store itself, as a server would on its first start.
        name = self._new_name()
        self._all.add(name)
        store = open_store(f"{self.url}?schema={name}")
        await store.open()
        await store.close()
        if self._migrated is None:
            self._migrated = await self._on_own_connection(lambda conn: self._catalog(conn, name))
        return name

    async def _on_own_connection(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """``work`` done on the pool's connection, on its loop, awaited from the caller's loop."""
        if self._loop is None:
            loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, name="schema-pool", daemon=True)
            self._thread.start()
            self._loop = loop

        async def run() -> T:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(self.url)
                return await work(self._conn)

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(run(), self._loop))

    async def _emptied(self, conn: asyncpg.Connection, name: str) -> bool:
        """Empty ``name`` back to a fresh migration's state; False if its catalog is not that one."""
        try:
            if await self._catalog(conn, name) != self._migrated:
                return False
        except asyncpg.UndefinedTableError:  # no schema_migrations left: not a migrated schema
            return False
        tables = [row["tablename"] for row in await conn.fetch(_TABLES, name)]
        async with conn.transaction():
            # Foreign keys are not checked in this session: every row of every table goes.
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("; ".join(f"DELETE FROM {name}.{table}" for table in tables))
            await conn.execute(_RESTART_SEQUENCES, name)
        return True

    async def _catalog(self, conn: asyncpg.Connection, name: str) -> list[str]:
        rows = await conn.fetch(_CATALOG, name)
        lines = [row[0].replace(f"{name}.", "") for row in rows]
        versions = await conn.fetch(f"SELECT version FROM {name}.schema_migrations ORDER BY version")
        return sorted(lines) + [f"migration {row['version']}" for row in versions]
