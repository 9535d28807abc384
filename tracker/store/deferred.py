"""Rows held back to be written together: one ``executemany`` per statement instead of a statement each.

A connection's ``defer`` (see ``Conn``) keeps the rows of statements that only add or overwrite
rows the unit does not read back, and writes them before the next statement that must run at
once, and at the end of the unit or group commit.  So every statement still sees every earlier
write.  Statements of different tables may run in another order than they were issued (only new
rows and whole-row saves are deferred, and no trigger or foreign key links those tables); within a
table the order holds: one statement text at a time is pending per table, another one writes the
pending rows first.  A statement that must run at once waits for the pending rows only if it reads
or writes one of their tables (``touched_by``): a read of the site's webhooks need not write the
ledger rows of every unit before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class Deferred:
    def __init__(self) -> None:
        # Rows by statement, in the order the statements first came, and each table's statement.
        self._rows: dict[str, list[Sequence[Any]]] = {}
        self._pending: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self._rows)

    def must_flush_before(self, table: str, sql: str) -> bool:
        """Whether ``table`` has rows of another statement pending (they must be written first)."""
        return self._pending.get(table, sql) != sql

    def only_saves(self, table: str) -> bool:
        """Whether ``table``'s pending rows are all saves (UPDATEs) of rows that exist already."""
        sql = self._pending.get(table)
        return sql is not None and sql.lstrip()[:6].upper() == "UPDATE"

    def touched_by(self, tables: frozenset[str]) -> bool:
        """Whether a statement using ``tables`` must wait for pending rows (of one of them)."""
        return not tables.isdisjoint(self._pending)

    def add(self, table: str, sql: str, row: Sequence[Any]) -> None:
        self._pending[table] = sql
        rows = self._rows.get(sql)
        if rows is None:
            self._rows[sql] = [row]
        else:
            rows.append(row)

    def take(self) -> dict[str, list[Sequence[Any]]]:
        """Every pending statement with its rows, in order; nothing is pending afterwards."""
        rows = self._rows
        self._rows, self._pending = {}, {}
        return rows
