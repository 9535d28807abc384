"""SQL for ``ledger_names``: the scores, rules and ops ledger rows name by id.

Ledger rows are read through the ``ledger_rows`` view, which joins the texts back; only writing
them (``ledger_name_ids``) deals with ids.  The ids are remembered like URLs' (``url_ids``: until
their unit commits on PostgreSQL, forgotten with a rolled-back transaction on SQLite), so a unit
never names a row that its rolled-back transaction took back.
"""

from __future__ import annotations

from collections.abc import Collection

from tracker.store.conn import Conn


async def ledger_name_ids(conn: Conn, texts: Collection[str]) -> dict[str, int]:
    """The id of each text, adding those not stored yet.

    Remembered ids cost nothing; the others an INSERT that leaves the stored ones be, then a SELECT
    (on PostgreSQL the INSERT waits for another instance adding the same name, whose row it then sees).
    """
    known = conn.ledger_names
    found: dict[str, int] = {}
    missing: list[str] = []
    for text in texts:
        name_id = known.get(text) if known is not None else None
        if name_id is None:
            missing.append(text)
        else:
            found[text] = name_id
    if missing:
        await conn.execute(
            "INSERT INTO ledger_names (text) VALUES "
            + ", ".join("(?)" for _ in missing)
            + " ON CONFLICT (text) DO NOTHING",
            *missing,
        )
        rows = await conn.fetchall(
            f"SELECT id, text FROM ledger_names WHERE text IN ({', '.join('?' for _ in missing)})", *missing
        )
        for row in rows:
            found[row["text"]] = int(row["id"])
            if known is not None:
                known.remember(row["text"], int(row["id"]))
    return found
