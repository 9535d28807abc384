"""SQL for abuse resistance: bot devices, per-person device caps, counts of ignored traffic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracker.store.conn import Conn
from tracker.store.url_queries import delete_unused_urls, urls_of_events


class AbuseQueries:
    conn: Conn

    # -- devices caught as bots ----------------------------------------------------------------

    async def flag_bot(self, visitor_id: str, reason: str) -> None:
        await self.conn.execute("UPDATE visitors SET bot = ? WHERE id = ?", reason, visitor_id)

    async def forget_device_events(self, person_id: int, device: int) -> int:
        """Delete the events of the device numbered ``device`` from a person, with the stages they
        caused and the decisions logged for the device; returns how many events went.

        The ledger is not touched here: the caller rebuilds it from a replay of what is left.  The URLs
        the events named go too, unless another event names them.
        """
        urls = await urls_of_events(self.conn, "person_id = ? AND visitor_num = ?", person_id, device)
        await self.conn.execute(
            "DELETE FROM stages WHERE person_id = ? AND event_id IN"
            " (SELECT id FROM events WHERE person_id = ? AND visitor_num = ?)",
            person_id,
            person_id,
            device,
        )
        await self.conn.execute("DELETE FROM decisions WHERE person_id = ? AND visitor_num = ?", person_id, device)
        count = await self.conn.execute("DELETE FROM events WHERE person_id = ? AND visitor_num = ?", person_id, device)
        await delete_unused_urls(self.conn, urls)
        return count

    async def forget_scores(self, person_id: int) -> None:
        """Drop a person's ledger and score copies, before they are rewritten from a replay."""
        await self.conn.execute("DELETE FROM ledger WHERE person_id = ?", person_id)
        await self.conn.execute("DELETE FROM person_scores WHERE person_id = ?", person_id)

    async def trim_devices(self, person_id: int, keep: str, limit: int) -> int:
        """Delete the least recently seen devices of a person beyond ``limit``, never ``keep``.

        ``keep`` is the device of the current request: its ``last_seen_at`` in the table
        is not yet this request's, so it is set apart rather than ranked.  The events of a
        device deleted stay, so its number and id go to ``former_devices``, which the
        views read ids from when no device has the number any more.
        """
        rows = await self.conn.fetchall(
            "DELETE FROM visitors WHERE person_id = ? AND id <> ? AND id NOT IN"
            " (SELECT id FROM visitors WHERE person_id = ? AND id <> ? ORDER BY last_seen_at DESC, id DESC LIMIT ?)"
            " RETURNING num, id",
            person_id,
            keep,
            person_id,
            keep,
            max(0, limit - 1),
        )
        await self.conn.executemany(
            "INSERT INTO former_devices (num, id, person_id) VALUES (?, ?, ?)",
            [(row["num"], row["id"], person_id) for row in rows],
        )
        return len(rows)

    # -- ignored traffic -----------------------------------------------------------------------

    async def add_ignored_traffic(self, rows: Sequence[tuple[int, str, str, int, int]]) -> None:
        """Add ``(site_id, day, reason, requests, events)`` counts to the per-day totals."""
        await self.conn.executemany(
            "INSERT INTO ignored_traffic (site_id, day, reason, requests, events) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (site_id, day, reason) DO UPDATE SET requests = ignored_traffic.requests"
            " + excluded.requests, events = ignored_traffic.events + excluded.events",
            rows,
        )

    async def ignored_traffic(self, site_id: int, since_day: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetchall(
            "SELECT day, reason, requests, events FROM ignored_traffic WHERE site_id = ? AND day >= ?"
            " ORDER BY day, reason",
            site_id,
            since_day,
        )
        return [
            {"day": row["day"], "reason": row["reason"], "requests": int(row["requests"]), "events": int(row["events"])}
            for row in rows
        ]
