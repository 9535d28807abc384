"""The tiny driver interface every SQL statement goes through.

SQL is written once, with ``?`` placeholders, in the query mixins; a backend knows how
to run a statement and answers the few questions whose SQL differs between dialects
(today only row locks), so the shared SQL never asks which database it is on.  Rows
are read by column name (``sqlite3.Row`` and asyncpg's ``Record`` both allow it), or unpacked
in the SELECT's order where thousands are read at once (both iterate over their values).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from tracker.store.hot_people import HotPeople
from tracker.store.url_ids import NameKey, RememberedIds, UrlIds


class Row(Protocol):
    def __getitem__(self, key: str | int) -> Any: ...

    def keys(self) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...


class Conn(Protocol):
    # "sqlite" or "postgresql": picks the migrations' tokens, and lets code outside the
    # store (tests inspecting the schema) tell the backends apart.
    dialect: str
    # Devices and persons as this connection's units last saved them, while the database still
    # holds exactly that; only SQLite's writer has them (see ``hot_people``), others None.
    hot: HotPeople | None
    # Ids of stored URLs, for the connections that write events (see ``url_ids``), others None.
    url_ids: UrlIds | None
    # Ids of the ledger's names, remembered the same way by the same connections (see ``ledger_names``).
    ledger_names: RememberedIds[NameKey] | None

    def lock_rows(self, *tables: str, skip_locked: bool = False) -> str:
        """The clause ending a SELECT whose rows stay locked until the unit ends ("" if none is needed).

        ``tables`` are the aliases to lock (all tables of the FROM if none); with
        ``skip_locked`` rows another transaction holds are left out rather than awaited.
        """
        ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def defer(self, table: str, sql: str, *args: Any, key: Any = None) -> None:
        """Run a statement that adds or overwrites rows of ``table`` that this unit does not read back.

        The writers may hold it and run it with others in one ``executemany`` before the next
        statement that needs it or the commit (``deferred``); a read connection runs it at once.
        ``key``: the primary key of the one row it saves, if it saves just one (its order with
        saves of other rows does not matter).
        """
        ...

    async def next_event_id(self) -> int | None:
        """The id the next event will have, where ids are handed out before events are written
        (SQLite's writer); None: the database gives it (``RETURNING id``)."""
        ...

    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...

    async def fetch_locked(self, sql: str, *args: Any, event_ids: int = 0) -> Row | None:
        """``fetchone`` of a statement whose row is locked (a SELECT ending in ``lock_rows``, or an INSERT …
        RETURNING of a new row), taking ``event_ids`` ids for ``next_event_id`` in that same statement, once
        the row is locked, where the database gives them."""
        ...

    async def fetchall_locked(self, sql: str, *args: Any, event_ids: int = 0) -> list[Row]:
        """``fetch_locked`` of a statement locking several rows: all of them."""
        ...

    async def fetchall(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """First column of the first row, or None (also used with ``RETURNING id``)."""
        ...
