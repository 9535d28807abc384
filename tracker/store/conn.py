"""The tiny driver interface every SQL statement goes through.

SQL is written once, with ``?`` placeholders, in ``queries``; a backend only knows how
to run a statement.  Rows are read by column name (``sqlite3.Row`` and asyncpg's
``Record`` both allow it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Row(Protocol):
    def __getitem__(self, key: str | int) -> Any: ...

    def keys(self) -> Any: ...


class Conn(Protocol):
    dialect: str

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchall(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """First column of the first row, or None (also used with ``RETURNING id``)."""
        ...
