"""SQL for API keys: stored as digests, listed per site, revoked by deleting the row."""

from __future__ import annotations

from tracker.store.conn import Conn, Row
from tracker.store.rows import ApiKeyRecord

_KEY_COLUMNS = "id, site_id, role, name, created_at, last_used_at"


def _key(row: Row) -> ApiKeyRecord:
    last_used = row["last_used_at"]
    return ApiKeyRecord(
        id=int(row["id"]),
        site_id=int(row["site_id"]),
        role=row["role"],
        name=row["name"],
        created_at=float(row["created_at"]),
        last_used_at=float(last_used) if last_used is not None else None,
    )


class KeyQueries:
    conn: Conn

    async def insert_api_key(self, site_id: int, role: str, name: str, digest: str, now: float) -> int:
        key_id = await self.conn.fetchval(
            "INSERT INTO api_keys (site_id, role, name, hash, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            site_id,
            role,
            name,
            digest,
            now,
        )
        return int(key_id)

    async def api_key(self, digest: str) -> ApiKeyRecord | None:
        row = await self.conn.fetchone(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE hash = ?", digest)
        return _key(row) if row is not None else None

    async def api_key_by_id(self, key_id: int) -> ApiKeyRecord | None:
        row = await self.conn.fetchone(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE id = ?", key_id)
        return _key(row) if row is not None else None

    async def api_keys(self, site_id: int | None) -> list[ApiKeyRecord]:
        """A site's keys (every site's when None), oldest first."""
        if site_id is None:
            rows = await self.conn.fetchall(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY site_id, id")
        else:
            rows = await self.conn.fetchall(
                f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE site_id = ? ORDER BY id", site_id
            )
        return [_key(row) for row in rows]

    async def touch_api_key(self, key_id: int, now: float) -> None:
        await self.conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", now, key_id)

    async def delete_api_key(self, key_id: int) -> bool:
        """True for exactly one caller, however many revoke the same key at once."""
        return await self.conn.execute("DELETE FROM api_keys WHERE id = ?", key_id) == 1
