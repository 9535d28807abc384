"""Interned rows: each key stored once, its id found again by a later call, and remembered."""

from __future__ import annotations

from pathlib import Path

from tracker.store import Queries, open_store
from tracker.store.interned import interned_ids
from tracker.store.url_ids import RememberedIds, UrlKey


async def test_each_key_is_stored_once_read_back_by_another_call_and_remembered(
    tmp_path: Path, database: str | None
) -> None:
    store = open_store(database or str(tmp_path / "t.db"))
    await store.open()
    known = RememberedIds[UrlKey]()
    a, b = ("https://a.test/", "Accueil"), ("https://a.test/", "")

    async def intern(q: Queries, keys: list[UrlKey], remembered: RememberedIds[UrlKey] | None) -> dict[UrlKey, int]:
        return await interned_ids(q.conn, "urls", ("text", "title"), remembered, keys)

    try:
        first = await store.write(lambda q: intern(q, [a, b, a], known))
        assert sorted(first) == sorted([a, b]) and first[a] != first[b]
        again = await store.write(lambda q: intern(q, [b, a], None))  # nothing remembered: read back
        assert again == first
        assert (known.get(a), known.get(b)) == (first[a], first[b])
        rows = await store.read(lambda q: q.conn.fetchval("SELECT COUNT(*) FROM urls"))
        assert rows == 2
    finally:
        await store.close()
