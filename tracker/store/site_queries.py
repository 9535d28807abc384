"""SQL for sites: each customer website's key, name, allowed origins and programme, versioned so
every instance notices a change (``site_versions``)."""

from __future__ import annotations

from collections.abc import Sequence

from tracker.store.conn import Conn
from tracker.store.rows import SiteRecord, dumps, site_of_row


class SiteQueries:
    conn: Conn

    async def insert_site(self, key: str, name: str, origins: Sequence[str], programme: str, now: float) -> int:
        site_id = await self.conn.fetchval(
            "INSERT INTO sites (key, name, origins, programme, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            key,
            name,
            dumps(list(origins)),
            programme,
            now,
        )
        return int(site_id)

    async def sites(self) -> list[SiteRecord]:
        rows = await self.conn.fetchall(
            "SELECT id, key, name, origins, programme, version, settings FROM sites ORDER BY id"
        )
        return [site_of_row(row) for row in rows]

    async def site_by_key(self, key: str, *, for_update: bool = False) -> SiteRecord | None:
        """The site; ``for_update`` locks its row (PostgreSQL) so a read-modify-write of its settings
        by two instances ends as if one ran after the other."""
        lock = self.conn.lock_rows() if for_update else ""
        row = await self.conn.fetchone(
            "SELECT id, key, name, origins, programme, version, settings FROM sites WHERE key = ?" + lock, key
        )
        return site_of_row(row) if row else None

    async def update_site(
        self, site_id: int, *, origins: Sequence[str] | None = None, programme: str | None = None
    ) -> None:
        if origins is not None:
            await self.conn.execute(
                "UPDATE sites SET origins = ?, version = version + 1 WHERE id = ?", dumps(list(origins)), site_id
            )
        if programme is not None:
            await self.conn.execute(
                "UPDATE sites SET programme = ?, version = version + 1 WHERE id = ?", programme, site_id
            )

    async def rename_site(self, site_id: int, name: str) -> None:
        await self.conn.execute("UPDATE sites SET name = ?, version = version + 1 WHERE id = ?", name, site_id)

    async def site_versions(self) -> dict[int, int]:
        rows = await self.conn.fetchall("SELECT id, version FROM sites")
        return {int(row["id"]): int(row["version"]) for row in rows}
