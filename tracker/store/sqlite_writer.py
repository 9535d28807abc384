"""SQLite's write connection: statements run inline, and the rows a unit only adds or overwrites
wait to be written together.

A beacon call writes an event, its ledger rows, a decision, its person's scores, the person and
the device: six statements, each paying Python's and SQLite's per-statement cost.  Those that
nobody reads back within the unit are *deferred*: kept as rows and written with one
``executemany`` per statement for all the units of a group commit, before the next statement
that must run at once and uses one of their tables (any read, any other write: see
``Deferred.touched_by``) and before COMMIT.  So every statement still
sees every earlier write, and a unit's deferred rows are written inside its own savepoint when
units run isolated (``sqlite._run_units``).

Deferred statements of different tables may run in another order than they were issued: only
new rows and whole-row saves are deferred, and no trigger or foreign key links those tables.
Within a table the order is kept (one statement text pending per table; another flushes first).

Event ids are handed out here (``next_event_id``) so an event's ledger rows and decisions can
name it before it is written: the writer holds the database's write lock for the whole
transaction, so nobody else can take an id meanwhile; a statement run at once that adds events
(a tool's, a test's: the store's own go through ``next_event_id``) makes it read the next id again.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tracker.store.conn import Row
from tracker.store.deferred import Deferred
from tracker.store.hot_people import HotPeople
from tracker.store.rowid_returning import ADDS_A_ROW, RowidReturning, RowidRow
from tracker.store.url_ids import NameKey, RememberedIds, UrlIds

_ADDS_EVENTS = re.compile(r"\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+events\b", re.IGNORECASE)
# What SQLite's authorizer reports as a use of a table (its second argument names the table).
_USES_TABLE = frozenset({sqlite3.SQLITE_READ, sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE})
# Statement texts whose tables, and what they add, are kept (the store's are a few hundred).
_TABLES_REMEMBERED = 4096


@dataclass(frozen=True, slots=True)
class _Adds:
    """What a statement text adds, as far as the writer must know before it runs."""

    row_to: str | None  # the table it adds one row to (``ADDS_A_ROW``), if that is what it does
    events: bool


class SqliteDialect:
    """SQLite's answers where the shared SQL differs between dialects (see ``Conn``)."""

    dialect = "sqlite"
    hot: HotPeople | None = None
    url_ids: UrlIds | None = None
    ledger_names: RememberedIds[NameKey] | None = None

    def lock_rows(self, *tables: str, skip_locked: bool = False) -> str:
        # The writer's transaction holds the lock of the whole database (BEGIN IMMEDIATE), so no
        # one else can change a row it has read: no row needs a lock of its own.
        return ""

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        raise NotImplementedError

    async def fetch_locked(self, sql: str, *args: Any, event_ids: int = 0) -> Row | None:
        # The writer hands event ids out itself (``next_event_id``): nothing to take.
        return await self.fetchone(sql, *args)

    async def fetchall_locked(self, sql: str, *args: Any, event_ids: int = 0) -> list[Row]:
        return await self.fetchall(sql, *args)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        raise NotImplementedError


class WriterConn(SqliteDialect):
    def __init__(
        self, db: sqlite3.Connection, hot: HotPeople, url_ids: UrlIds, ledger_names: RememberedIds[NameKey]
    ) -> None:
        self.db = db
        self.hot = hot
        self.url_ids = url_ids
        self.ledger_names = ledger_names
        self._deferred = Deferred()
        self._next_event_id: int | None = None
        self._tables: dict[str, frozenset[str]] = {}
        self._additions: dict[str, _Adds] = {}
        self._rowid_returning = RowidReturning(db)

    async def defer(self, table: str, sql: str, *args: Any, key: Any = None) -> None:
        if self._deferred.must_flush_before(table, sql, key):
            self.flush()
        self._deferred.add(table, sql, args, key)

    async def next_event_id(self) -> int | None:
        if self._next_event_id is None:
            self.flush()
            seq = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            self._next_event_id = (int(seq[0]) if seq else 0) + 1
        event_id = self._next_event_id
        self._next_event_id += 1
        return event_id

    def begin(self) -> None:
        """A new transaction: another process may have added events since the last, so ids are read again."""
        self._next_event_id = None

    def flush(self) -> None:
        """Write the deferred rows (an error is the unit's or the batch's, as any statement's)."""
        if not self._deferred:
            return
        deferred = self._deferred.take()
        assert self.hot is not None
        # The deferred saves of persons and devices forgot them when they were deferred, and the
        # units remembered what they saved since: the triggers must not forget that again.
        with self.hot.unwatched():
            for sql, rows in deferred.items():
                self.db.executemany(sql, rows)

    def discard(self) -> None:
        """Drop what was deferred: its transaction or savepoint was rolled back."""
        self._deferred.take()
        self._next_event_id = None

    def forget_remembered(self) -> None:
        """Forget the remembered people, URL and name ids: the database may no longer hold what they say."""
        assert self.hot is not None and self.url_ids is not None and self.ledger_names is not None
        self.hot.clear()
        self.url_ids.clear()
        self.ledger_names.clear()

    def _now(self, sql: str, args: Sequence[Any]) -> None:
        """Before a statement that runs at once: everything deferred first if the statement uses a
        table with deferred rows (and ids read again if it adds events)."""
        adds = self._adds(sql)
        if self._deferred and self._deferred.touched_by(self._uses(sql, args, adds.row_to)):
            self.flush()
        if adds.events:
            self._next_event_id = None

    def _adds(self, sql: str) -> _Adds:
        """What ``sql`` adds, once per statement text: the patterns cost a beacon call more than the dictionary."""
        adds = self._additions.get(sql)
        if adds is None:
            if len(self._additions) >= _TABLES_REMEMBERED:
                self._additions.clear()
            one_row = ADDS_A_ROW.match(sql)
            adds = self._additions[sql] = _Adds(one_row[2] if one_row else None, _ADDS_EVENTS.match(sql) is not None)
        return adds

    def _uses(self, sql: str, args: Sequence[Any], adds_row_to: str | None) -> frozenset[str]:
        """The tables whose deferred rows ``sql`` must come after.

        A new row (a new visitor's device and person) need not wait for the pending saves of other
        rows of its table: a save is an UPDATE of a row that exists already, so it cannot be the
        new one.  Should the new row take a unique value a pending save is about to take, the save
        fails when written and the batch runs again a unit at a time, as if in sequence.
        """
        tables = self._tables_of(sql, args)
        if adds_row_to is not None and self._deferred.only_saves(adds_row_to):
            return tables - {adds_row_to}
        return tables

    def _tables_of(self, sql: str, args: Sequence[Any]) -> frozenset[str]:
        """The tables ``sql`` reads or writes, views and triggers included, as SQLite itself compiles
        it: its authorizer is told of each while ``EXPLAIN`` prepares the statement (not run).
        Once per statement text."""
        tables = self._tables.get(sql)
        if tables is None:
            used: set[str] = set()

            def note(action: int, table: str | None, _column: str | None, _db: str | None, _via: str | None) -> int:
                if action in _USES_TABLE and table:
                    used.add(table)
                return sqlite3.SQLITE_OK

            self.db.set_authorizer(note)
            try:
                self.db.execute(f"EXPLAIN {sql}", args)
            finally:
                self.db.set_authorizer(None)
            if len(self._tables) >= _TABLES_REMEMBERED:
                self._tables.clear()
            tables = self._tables[sql] = frozenset(used)
        return tables

    async def execute(self, sql: str, *args: Any) -> int:
        self._now(sql, args)
        return self.db.execute(sql, args).rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._now(sql, rows[0])
            self.db.executemany(sql, rows)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        self._now(sql, args)
        plain = self._rowid_returning.without_returning(sql)
        if plain is not None:
            return RowidRow(plain[1], self._insert(plain[0], args))
        row: Row | None = self.db.execute(sql, args).fetchone()
        return row

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        self._now(sql, args)
        return list(self.db.execute(sql, args).fetchall())

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchone(sql, *args)
        return None if row is None else row[0]

    def _insert(self, sql: str, args: Sequence[Any]) -> int:
        """Run an INSERT of one row; the row's id (``rowid_returning``)."""
        rowid = self.db.execute(sql, args).lastrowid
        assert rowid is not None
        return rowid
