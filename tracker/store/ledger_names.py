"""SQL for ``ledger_names``: the scores, rules and ops ledger rows name by id.

Ledger rows are read through the ``ledger_rows`` view, which joins the texts back; only writing
them (``ledger_name_ids``) deals with ids.  The ids are remembered like URLs' (``url_ids``: until
their unit commits on PostgreSQL, forgotten with a rolled-back transaction on SQLite), so a unit
never names a row that its rolled-back transaction took back.
"""

from __future__ import annotations

from collections.abc import Collection

from tracker.store.conn import Conn
from tracker.store.interned import interned_ids


async def ledger_name_ids(conn: Conn, texts: Collection[str]) -> dict[str, int]:
    """The id of each text, adding those not stored yet."""
    found = await interned_ids(conn, "ledger_names", ("text",), conn.ledger_names, ((text,) for text in texts))
    return {key[0]: name_id for key, name_id in found.items()}
