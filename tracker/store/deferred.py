"""Rows held back to be written together: one ``executemany`` per statement instead of a statement each.

A connection's ``defer`` (see ``Conn``) keeps the rows of statements that only add or overwrite
rows the unit does not read back, and writes them before the next statement that must run at
once, and at the end of the unit or group commit.  So every statement still sees every earlier
write.  Statements of different tables may run in another order than they were issued (only new
rows and whole-row saves are deferred, and no trigger or foreign key links those tables); within a
table the order holds: one statement text at a time is pending per table, another one writes the
pending rows first.  Saves that each overwrite one row named by its key (a person's, a device's)
are the exception: saves of different rows cannot depend on each other's order, so several texts
may be pending side by side (a person whose stage changed is saved by another UPDATE than one
whose scores alone did), and only a second save of the same row by another text writes the
pending rows first.  A statement that must run at once waits for the pending rows only if it reads
or writes one of their tables (``touched_by``): a read of the site's webhooks need not write the
ledger rows of every unit before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class Deferred:
    def __init__(self) -> None:
        # Rows by statement, in the order the statements first came.
        self._rows: dict[str, list[Sequence[Any]]] = {}
        # Each table's pending statements; of a table whose pending rows are all keyed saves, the
        # statement each row's save is pending in; the tables with rows of another kind pending.
        self._texts: dict[str, set[str]] = {}
        self._saves: dict[str, dict[Any, str]] = {}
        self._unkeyed: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self._rows)

    def must_flush_before(self, table: str, sql: str, key: Any = None) -> bool:
        """Whether the pending rows must be written before ``sql`` (of ``table``; a save of the row
        ``key``) may wait with them."""
        texts = self._texts.get(table)
        if texts is None:
            return False
        if key is None or table in self._unkeyed:
            return len(texts) > 1 or sql not in texts
        held = self._saves[table].get(key)
        return held is not None and held != sql

    def only_saves(self, table: str) -> bool:
        """Whether ``table``'s pending rows are all saves (UPDATEs) of rows that exist already."""
        texts = self._texts.get(table)
        return texts is not None and all(sql.lstrip()[:6].upper() == "UPDATE" for sql in texts)

    def touched_by(self, tables: frozenset[str]) -> bool:
        """Whether a statement using ``tables`` must wait for pending rows (of one of them)."""
        return not tables.isdisjoint(self._texts)

    def add(self, table: str, sql: str, row: Sequence[Any], key: Any = None) -> None:
        """Hold ``row`` of ``sql`` (call ``must_flush_before`` first); ``key``: the one row it saves."""
        texts = self._texts.get(table)
        if texts is None:
            self._texts[table] = {sql}
        else:
            texts.add(sql)
        if key is None:
            self._unkeyed.add(table)
        else:
            self._saves.setdefault(table, {})[key] = sql
        rows = self._rows.get(sql)
        if rows is None:
            self._rows[sql] = [row]
        else:
            rows.append(row)

    def take(self) -> dict[str, list[Sequence[Any]]]:
        """Every pending statement with its rows, in order; nothing is pending afterwards."""
        rows = self._rows
        self._rows, self._texts, self._saves, self._unkeyed = {}, {}, {}, set()
        return rows
