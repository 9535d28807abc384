"""SQL for e-mail links: who a mailing list's addresses are, and when a person first opened a campaign."""

from __future__ import annotations

from collections.abc import Sequence

from tracker.store.conn import Conn

# Addresses per lookup: well under both backends' limits on bound parameters.
_CHUNK = 1000


class EmailQueries:
    conn: Conn

    async def person_ids_by_email(self, site_id: int, emails: Sequence[str]) -> dict[str, int]:
        """e-mail → person id, for the addresses of ``emails`` someone on the site holds."""
        found: dict[str, int] = {}
        for start in range(0, len(emails), _CHUNK):
            chunk = emails[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = await self.conn.fetchall(
                f"SELECT id, email FROM persons WHERE site_id = ? AND email IN ({marks})", site_id, *chunk
            )
            found.update({row["email"]: int(row["id"]) for row in rows})
        return found

    async def first_email_open(self, person_id: int, campaign: str) -> float | None:
        value = await self.conn.fetchval(
            "SELECT MIN(ts) FROM events WHERE person_id = ? AND type = 'email_open' AND name = ?", person_id, campaign
        )
        return float(value) if value is not None else None
