"""Rows stored once and named by id elsewhere (page addresses with their titles, the ledger's
names): the id of each key, adding the rows not stored yet.

A key is the row's text columns, in ``columns`` order; the table has a unique constraint on them.
Remembered ids (``RememberedIds``, see ``url_ids`` for when they are forgotten) cost nothing; the
others one SELECT, and one INSERT for those new.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar, cast

from tracker.store.conn import Conn, Row
from tracker.store.url_ids import RememberedIds

K = TypeVar("K", bound=tuple[str, ...])


async def interned_ids(
    conn: Conn, table: str, columns: tuple[str, ...], known: RememberedIds[K] | None, keys: Iterable[K]
) -> dict[K, int]:
    found: dict[K, int] = {}
    missing: list[K] = []
    for key in keys:
        key_id = known.get(key) if known is not None else None
        if key_id is not None:
            found[key] = key_id
        elif key not in missing:
            missing.append(key)
    if missing:
        await _store_missing(conn, table, columns, missing, found)
    if known is not None:
        for key, key_id in found.items():
            known.remember(key, key_id)
    return found


async def _store_missing(
    conn: Conn, table: str, columns: tuple[str, ...], missing: list[K], found: dict[K, int]
) -> None:
    """Add the ids of ``missing`` to ``found``: read those stored, insert the others."""
    names = ", ".join(columns)
    one_key = "(" + " AND ".join(f"{column} = ?" for column in columns) + ")"
    one_row = "(" + ", ".join("?" for _ in columns) + ")"
    while missing:
        rows = await conn.fetchall(
            f"SELECT id, {names} FROM {table} WHERE " + " OR ".join(one_key for _ in missing),
            *(part for key in missing for part in key),
        )
        found.update(cast(dict[K, int], _ids_of(rows, columns)))
        new = [key for key in missing if key not in found]
        if new:
            rows = await conn.fetchall(
                f"INSERT INTO {table} ({names}) VALUES "
                + ", ".join(one_row for _ in new)
                + f" ON CONFLICT ({names}) DO NOTHING RETURNING id, {names}",
                *(part for key in new for part in key),
            )
            found.update(cast(dict[K, int], _ids_of(rows, columns)))
        # On PostgreSQL another instance may have added one meanwhile: the next SELECT sees it.
        missing = [key for key in missing if key not in found]


def _ids_of(rows: Iterable[Row], columns: tuple[str, ...]) -> dict[tuple[str, ...], int]:
    return {tuple(row[column] for column in columns): int(row["id"]) for row in rows}
