"""SQL for the dashboard's reports: people per stage, stage entries, active devices, what scored."""

from __future__ import annotations

from tracker.store.conn import Conn
from tracker.store.rows import seen_slot


class ReportQueries:
    """What scored this week is read from the ledger's time index outwards: ``CROSS JOIN`` is
    how SQLite is told to start from the ledger (it would otherwise walk every person of the
    site and all their ledger rows); PostgreSQL plans it as the inner join it is."""

    conn: Conn

    async def stage_counts(self, site_id: int) -> dict[str, int]:
        rows = await self.conn.fetchall(
            "SELECT stage, COUNT(*) AS n FROM persons WHERE site_id = ? GROUP BY stage", site_id
        )
        return {str(row["stage"]): int(row["n"]) for row in rows}

    async def stage_entries(self, site_id: int, stages: tuple[str, ...], since: float) -> list[tuple[str, float]]:
        """``(stage, ts)`` of every entry into one of ``stages`` at or after ``since``, oldest first."""
        marks = ", ".join("?" for _ in stages)
        rows = await self.conn.fetchall(
            "SELECT s.stage, s.ts FROM stages s JOIN persons p ON p.id = s.person_id"
            f" WHERE s.stage IN ({marks}) AND s.ts >= ? AND p.site_id = ? ORDER BY s.ts",
            *stages,
            since,
            site_id,
        )
        return [(str(row["stage"]), float(row["ts"])) for row in rows]

    async def active_visitors(self, site_id: int, since: float) -> int:
        """Devices (bots left out) seen at or after ``since``."""
        return int(
            await self.conn.fetchval(
                "SELECT COUNT(*) FROM visitors"
                " WHERE site_id = ? AND seen_slot >= ? AND last_seen_at >= ? AND bot IS NULL",
                site_id,
                seen_slot(since),
                since,
            )
        )

    async def top_pages(self, site_id: int, since: float, limit: int) -> list[tuple[str, float, int]]:
        """``(url, points, people)`` of the pages whose events earned the most points since ``since``."""
        rows = await self.conn.fetchall(
            "SELECT COALESCE(u.text, '') AS url, SUM(l.points) AS points, COUNT(DISTINCT l.person_id) AS people"
            " FROM ledger l CROSS JOIN persons p CROSS JOIN events e LEFT JOIN urls u ON u.id = e.url_id"
            " WHERE e.id = l.event_id AND p.id = l.person_id AND l.ts >= ? AND l.points > 0 AND p.site_id = ?"
            " GROUP BY COALESCE(u.text, '') ORDER BY points DESC, url LIMIT ?",
            since,
            site_id,
            limit,
        )
        return [(str(row["url"]), float(row["points"]), int(row["people"])) for row in rows]

    async def top_rules(self, site_id: int, since: float, limit: int) -> list[tuple[str, str, float, int]]:
        """``(rule_id, score, points, times)`` of the rules that gave the most points since ``since``."""
        # Grouped by the names' ids, whose texts are then read once per group rather than once per row.
        rows = await self.conn.fetchall(
            "SELECT r.text AS rule_id, s.text AS score, t.points, t.times FROM"
            " (SELECT l.rule_ref, l.score_ref, SUM(l.points) AS points, COUNT(*) AS times"
            " FROM ledger l CROSS JOIN persons p"
            " WHERE p.id = l.person_id AND l.ts >= ? AND l.points > 0 AND p.site_id = ?"
            " GROUP BY l.rule_ref, l.score_ref) t"
            " JOIN ledger_names r ON r.id = t.rule_ref JOIN ledger_names s ON s.id = t.score_ref"
            " ORDER BY t.points DESC, r.text LIMIT ?",
            since,
            site_id,
            limit,
        )
        return [(str(row["rule_id"]), str(row["score"]), float(row["points"]), int(row["times"])) for row in rows]
