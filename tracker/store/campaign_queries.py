"""SQL for the campaign editor's "who would see it now": the people of a site, most recent first."""

from __future__ import annotations

from tracker.domain.people import PersonRecord
from tracker.store.conn import Conn
from tracker.store.rows import PERSON_COLUMNS, person_of_row


class CampaignQueries:
    conn: Conn

    async def audience_candidates(self, site_id: int, limit: int) -> list[PersonRecord]:
        """Up to ``limit`` people of the site with at least one human device, most recently seen first.

        Recent people first: when the scan stops at its cap, the ones it counted are those a
        campaign would meet soonest.  A person whose every device was caught as a bot is no
        audience.
        """
        rows = await self.conn.fetchall(
            f"SELECT {', '.join('p.' + c.strip() for c in PERSON_COLUMNS.split(','))} FROM persons p"
            " WHERE p.site_id = ?"
            " AND EXISTS (SELECT 1 FROM visitors v WHERE v.person_id = p.id AND v.bot IS NULL)"
            " ORDER BY p.last_seen_at DESC, p.id DESC LIMIT ?",
            site_id,
            limit,
        )
        return [person_of_row(row) for row in rows]
