"""SQL for Segment's message ids: claimed once each, so a retried delivery is not scored twice, and
forgotten past their window (``services.message_ids``)."""

from __future__ import annotations

from collections.abc import Iterable

from tracker.store.conn import Conn

# Message ids claimed per statement: three parameters each, far below either database's limit.
_CLAIMS_PER_STATEMENT = 500


class MessageQueries:
    conn: Conn

    async def claim_messages(self, site_id: int, message_ids: Iterable[str], now: float) -> set[str]:
        """Record message ids; return those not processed before (the others are retried deliveries).

        One statement for a whole batch: a row per message cost a statement per message.
        """
        fresh = list(dict.fromkeys(message_ids))
        claimed: set[str] = set()
        for start in range(0, len(fresh), _CLAIMS_PER_STATEMENT):
            part = fresh[start : start + _CLAIMS_PER_STATEMENT]
            rows = await self.conn.fetchall(
                "INSERT INTO message_ids (site_id, message_id, received_at) VALUES "
                + ", ".join(["(?, ?, ?)"] * len(part))
                + " ON CONFLICT (site_id, message_id) DO NOTHING RETURNING message_id",
                *[value for message_id in part for value in (site_id, message_id, now)],
            )
            claimed.update(row["message_id"] for row in rows)
        return claimed

    async def forget_messages_before(self, before: float, limit: int) -> int:
        """Forget up to ``limit`` of the message ids received before ``before``, oldest first; how many."""
        return await self.conn.execute(
            "DELETE FROM message_ids WHERE (site_id, message_id) IN"
            " (SELECT site_id, message_id FROM message_ids WHERE received_at < ? ORDER BY received_at LIMIT ?)",
            before,
            limit,
        )
