"""SQL for programme versions (every published programme of a site) and console users' drafts."""

from __future__ import annotations

from dataclasses import dataclass

from tracker.store.conn import Conn, Row

_VERSION_COLUMNS = "number, author, comment, origin, created_at"


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """A published programme, without its text (``programme_source`` reads that)."""

    number: int
    author: str  # a console user's e-mail, or "cli"
    comment: str
    origin: str  # publish, rollback, clone, cli, migration
    created_at: float


@dataclass(frozen=True, slots=True)
class DraftRecord:
    source: str
    base_version: int  # the version the draft started from
    updated_at: float


def _version(row: Row) -> VersionRecord:
    return VersionRecord(
        number=int(row["number"]),
        author=row["author"],
        comment=row["comment"],
        origin=row["origin"],
        created_at=float(row["created_at"]),
    )


class ProgrammeQueries:
    conn: Conn

    async def lock_site(self, site_id: int) -> None:
        """Hold the site's row until the unit ends: publishes of one site run one after the other."""
        await self.conn.fetchval(f"SELECT id FROM sites WHERE id = ?{self.conn.lock_rows()}", site_id)

    async def programme_versions(self, site_id: int, limit: int = 1000) -> list[VersionRecord]:
        """Newest first."""
        rows = await self.conn.fetchall(
            f"SELECT {_VERSION_COLUMNS} FROM programme_versions WHERE site_id = ? ORDER BY number DESC LIMIT ?",
            site_id,
            limit,
        )
        return [_version(row) for row in rows]

    async def programme_version(self, site_id: int, number: int) -> VersionRecord | None:
        row = await self.conn.fetchone(
            f"SELECT {_VERSION_COLUMNS} FROM programme_versions WHERE site_id = ? AND number = ?", site_id, number
        )
        return _version(row) if row else None

    async def latest_programme_version(self, site_id: int) -> VersionRecord | None:
        row = await self.conn.fetchone(
            f"SELECT {_VERSION_COLUMNS} FROM programme_versions WHERE site_id = ? ORDER BY number DESC LIMIT 1",
            site_id,
        )
        return _version(row) if row else None

    async def programme_source(self, site_id: int, number: int) -> str | None:
        source = await self.conn.fetchval(
            "SELECT source FROM programme_versions WHERE site_id = ? AND number = ?", site_id, number
        )
        return str(source) if source is not None else None

    async def insert_programme_version(
        self, site_id: int, number: int, source: str, *, author: str, comment: str, origin: str, now: float
    ) -> None:
        await self.conn.execute(
            "INSERT INTO programme_versions (site_id, number, source, author, comment, origin, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            site_id,
            number,
            source,
            author,
            comment,
            origin,
            now,
        )

    # -- drafts --------------------------------------------------------------------------------

    async def programme_draft(self, user_id: int, site_id: int) -> DraftRecord | None:
        row = await self.conn.fetchone(
            "SELECT source, base_version, updated_at FROM programme_drafts WHERE user_id = ? AND site_id = ?",
            user_id,
            site_id,
        )
        if row is None:
            return None
        return DraftRecord(row["source"], int(row["base_version"]), float(row["updated_at"]))

    async def save_programme_draft(
        self, user_id: int, site_id: int, source: str, base_version: int, now: float
    ) -> None:
        await self.conn.execute(
            "INSERT INTO programme_drafts (user_id, site_id, source, base_version, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, site_id) DO UPDATE SET source = excluded.source,"
            " base_version = excluded.base_version, updated_at = excluded.updated_at",
            user_id,
            site_id,
            source,
            base_version,
            now,
        )

    async def delete_programme_draft(self, user_id: int, site_id: int) -> None:
        await self.conn.execute("DELETE FROM programme_drafts WHERE user_id = ? AND site_id = ?", user_id, site_id)
