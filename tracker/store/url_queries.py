"""SQL for the ``urls`` table: each page address (with its title) or referrer stored once, events
naming it by id.

Events are read through the ``event_rows`` view, which joins the texts back; only writing an
event (``url_ids``), deleting events (``urls_of_events``, then ``delete_unused_urls``) and reading
a whole site's histories for a replay (``url_texts``) deal with ids.  A URL may hold personal data
in its query string, a title in its text ("Your order, Marc"), so a row no event names any more
goes with the last event that named it (erasure, the purge, a bot's events).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from tracker.store.conn import Conn
from tracker.store.interned import interned_ids
from tracker.store.url_ids import UrlKey

# Ids per DELETE: far below either database's limit of parameters.
_IDS_PER_STATEMENT = 500
# No address and no title: no row, the event's url_id is NULL.
_NONE: UrlKey = ("", "")


async def url_ids(conn: Conn, *keys: UrlKey) -> list[int | None]:
    """The id of each (address, title) pair (None for ("", "")), adding the pairs not stored yet."""
    found = await interned_ids(conn, "urls", ("text", "title"), conn.url_ids, (key for key in keys if key != _NONE))
    return [None if key == _NONE else found[key] for key in keys]


async def url_texts(conn: Conn, ids: Collection[int]) -> dict[int, UrlKey]:
    """The (address, title) of each of these ids still stored.

    A replay reads thousands of events naming a few pages: looking each page up once here, rather than
    once per event in ``event_rows``, spares a join per event and a copy of its texts per event.
    """
    found: dict[int, UrlKey] = {}
    wanted = list(ids)
    for start in range(0, len(wanted), _IDS_PER_STATEMENT):
        part = wanted[start : start + _IDS_PER_STATEMENT]
        rows = await conn.fetchall(
            f"SELECT id, text, title FROM urls WHERE id IN ({', '.join('?' for _ in part)})", *part
        )
        found.update((row_id, (text, title)) for row_id, text, title in rows)
    return found


async def urls_of_events(conn: Conn, where: str, *args: Any) -> list[int]:
    """The ids of the URLs (pages and referrers) the events matching ``where`` name: read before
    they are deleted, for ``delete_unused_urls`` after."""
    rows = await conn.fetchall(
        f"SELECT url_id AS id FROM events WHERE {where} AND url_id IS NOT NULL"
        f" UNION SELECT referrer_id FROM events WHERE {where} AND referrer_id IS NOT NULL",
        *args,
        *args,
    )
    return [int(row["id"]) for row in rows]


async def delete_unused_urls(conn: Conn, candidates: Sequence[int]) -> int:
    """Delete those of ``candidates`` no event names any more; how many went.

    A URL another event names (as its page or its referrer) stays: it is that event's too.  On
    PostgreSQL an event written meanwhile by another instance may name one being deleted: the foreign
    key then fails one of the two units, which runs again and sees the other's outcome.
    """
    deleted = 0
    for start in range(0, len(candidates), _IDS_PER_STATEMENT):
        part = candidates[start : start + _IDS_PER_STATEMENT]
        deleted += await conn.execute(
            f"DELETE FROM urls WHERE id IN ({', '.join('?' for _ in part)})"
            " AND NOT EXISTS (SELECT 1 FROM events WHERE url_id = urls.id)"
            " AND NOT EXISTS (SELECT 1 FROM events WHERE referrer_id = urls.id)",
            *part,
        )
    return deleted
