"""The tiny driver interface every SQL statement goes through.

SQL is written once, with ``?`` placeholders, in the query mixins; a backend knows how
to run a statement and answers the few questions whose SQL differs between dialects
(today only row locks), so the shared SQL never asks which database it is on.  Rows
are read by column name (``sqlite3.Row`` and asyncpg's ``Record`` both allow it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from tracker.domain.people import PersonRecord, VisitorRecord


class Row(Protocol):
    def __getitem__(self, key: str | int) -> Any: ...

    def keys(self) -> Any: ...


class Conn(Protocol):
    # "sqlite" or "postgresql": picks the migrations' tokens, and lets code outside the
    # store (tests inspecting the schema) tell the backends apart.
    dialect: str

    def lock_rows(self, *tables: str, skip_locked: bool = False) -> str:
        """The clause ending a SELECT whose rows stay locked until the unit ends ("" if none is needed).

        ``tables`` are the aliases to lock (all tables of the FROM if none); with
        ``skip_locked`` rows another transaction holds are left out rather than awaited.
        """
        ...

    def recall(self, visitor_id: str, site_id: int) -> tuple[VisitorRecord, PersonRecord] | None:
        """A copy of the device and its person as a unit of this connection last saved them, if that is
        still what the database holds (only SQLite's writer remembers; see ``hot_people``)."""
        ...

    def remember(self, visitor: VisitorRecord, person: PersonRecord) -> None:
        """Keep a copy of the device and person a unit has just saved, for ``recall``."""
        ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchall(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """First column of the first row, or None (also used with ``RETURNING id``)."""
        ...
