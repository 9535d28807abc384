"""SQL for the sales handoff: lead assignments, round-robin turns, owners, webhooks and their outbox."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

import orjson

from tracker.store.conn import Conn, Row
from tracker.store.rows import timeline_event_of_row

_ASSIGNMENT = "id, person_id, route_id, queue, owner, reason, actor, ts"
_DELIVERY = (
    "o.id, o.site_id, o.webhook_id, o.person_id, o.event, o.data, o.occurred_at, o.status, o.attempts,"
    " o.next_attempt_at, o.last_status, o.last_error, o.delivered_at, w.url"
)


class HandoffQueries:
    conn: Conn

    # -- assignments ---------------------------------------------------------------------------

    async def insert_assignment(
        self,
        site_id: int,
        person_id: int,
        route_id: str,
        queue: str,
        owner: str | None,
        *,
        reason: str,
        actor: str,
        ts: float,
    ) -> int:
        """Record a routing; it replaces the assignment in force, which stays in the history."""
        await self.conn.execute("UPDATE assignments SET active = 0 WHERE person_id = ? AND active = 1", person_id)
        assignment_id = await self.conn.fetchval(
            "INSERT INTO assignments (site_id, person_id, route_id, queue, owner, reason, actor, ts, active)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING id",
            site_id,
            person_id,
            route_id,
            queue,
            owner,
            reason,
            actor,
            ts,
        )
        return int(assignment_id)

    async def assignments_of(self, person_id: int) -> list[dict[str, Any]]:
        """A person's routings, newest first (the first is the one in force)."""
        rows = await self.conn.fetchall(
            f"SELECT {_ASSIGNMENT} FROM assignments WHERE person_id = ? ORDER BY id DESC", person_id
        )
        return [_assignment(row) for row in rows]

    async def active_assignments(self, person_ids: Collection[int]) -> dict[int, dict[str, Any]]:
        if not person_ids:
            return {}
        marks = ", ".join("?" for _ in person_ids)
        rows = await self.conn.fetchall(
            f"SELECT {_ASSIGNMENT} FROM assignments WHERE active = 1 AND person_id IN ({marks})", *person_ids
        )
        return {int(row["person_id"]): _assignment(row) for row in rows}

    async def take_turn(self, site_id: int, queue: str) -> int:
        """The queue's round-robin turn, locked until the unit ends (the caller moves it on)."""
        await self.conn.execute(
            "INSERT INTO route_queues (site_id, queue, turn) VALUES (?, ?, 0) ON CONFLICT (site_id, queue) DO NOTHING",
            site_id,
            queue,
        )
        turn = await self.conn.fetchval(
            f"SELECT turn FROM route_queues WHERE site_id = ? AND queue = ?{self.conn.lock_rows()}", site_id, queue
        )
        return int(turn)

    async def set_turn(self, site_id: int, queue: str, turn: int) -> None:
        await self.conn.execute(
            "UPDATE route_queues SET turn = ? WHERE site_id = ? AND queue = ?", turn, site_id, queue
        )

    # -- owners --------------------------------------------------------------------------------

    async def unavailable_owners(self, site_id: int) -> set[str]:
        rows = await self.conn.fetchall("SELECT owner FROM owners WHERE site_id = ? AND available = 0", site_id)
        return {row["owner"] for row in rows}

    async def set_owner_available(self, site_id: int, owner: str, available: bool, now: float) -> None:
        await self.conn.execute(
            "INSERT INTO owners (site_id, owner, available, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (site_id, owner) DO UPDATE SET available = excluded.available,"
            " updated_at = excluded.updated_at",
            site_id,
            owner,
            1 if available else 0,
            now,
        )

    async def open_leads_by_owner(self, site_id: int) -> dict[str, int]:
        rows = await self.conn.fetchall(
            "SELECT owner, COUNT(*) AS leads FROM assignments WHERE site_id = ? AND active = 1"
            " AND owner IS NOT NULL GROUP BY owner",
            site_id,
        )
        return {row["owner"]: int(row["leads"]) for row in rows}

    # -- webhook subscriptions -----------------------------------------------------------------

    async def insert_webhook(self, site_id: int, url: str, secret: str, events: Sequence[str], now: float) -> int:
        webhook_id = await self.conn.fetchval(
            "INSERT INTO webhooks (site_id, url, secret, events, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            site_id,
            url,
            secret,
            orjson.dumps(list(events)).decode(),
            now,
        )
        return int(webhook_id)

    async def webhooks(self, site_id: int) -> list[dict[str, Any]]:
        """The site's subscriptions, secrets included (callers decide what to show)."""
        rows = await self.conn.fetchall(
            "SELECT id, url, secret, events, created_at FROM webhooks WHERE site_id = ? ORDER BY id", site_id
        )
        return [
            {
                "id": int(row["id"]),
                "url": row["url"],
                "secret": row["secret"],
                "events": orjson.loads(row["events"]),
                "created_at": float(row["created_at"]),
            }
            for row in rows
        ]

    async def delete_webhook(self, site_id: int, webhook_id: int) -> bool:
        """Delete a subscription and every delivery of it, sent or not."""
        deleted = await self.conn.execute("DELETE FROM webhooks WHERE id = ? AND site_id = ?", webhook_id, site_id)
        if deleted:
            await self.conn.execute("DELETE FROM webhook_outbox WHERE webhook_id = ?", webhook_id)
        return deleted == 1

    # -- the outbox ----------------------------------------------------------------------------

    async def enqueue_deliveries(self, rows: Iterable[tuple[int, int, int, str, str, float, float]]) -> None:
        """Add ``(site_id, webhook_id, person_id, event, data, occurred_at, due_at)`` rows, pending."""
        await self.conn.executemany(
            "INSERT INTO webhook_outbox (site_id, webhook_id, person_id, event, data, occurred_at, next_attempt_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            list(rows),
        )

    async def has_due_deliveries(self, now: float) -> bool:
        found = await self.conn.fetchval(
            "SELECT id FROM webhook_outbox WHERE status = 'pending' AND next_attempt_at <= ? LIMIT 1", now
        )
        return found is not None

    async def claim_deliveries(self, now: float, lease_until: float, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` due deliveries, each counted as one more attempt and hidden until ``lease_until``.

        The lease is what stops another instance sending the same row while this one
        delivers it; if this process dies meanwhile, the row is due again when it ends.
        Rows another instance is claiming right now are skipped, not awaited.
        """
        lock = self.conn.lock_rows("o", skip_locked=True)
        rows = await self.conn.fetchall(
            f"SELECT {_DELIVERY}, w.secret FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id"
            f" WHERE o.status = 'pending' AND o.next_attempt_at <= ? ORDER BY o.next_attempt_at, o.id LIMIT ?{lock}",
            now,
            limit,
        )
        claimed = [{**_delivery(row), "secret": row["secret"]} for row in rows]
        for delivery in claimed:
            delivery["attempts"] += 1
        await self.conn.executemany(
            "UPDATE webhook_outbox SET attempts = ?, next_attempt_at = ? WHERE id = ?",
            [(delivery["attempts"], lease_until, delivery["id"]) for delivery in claimed],
        )
        return claimed

    async def mark_delivered(self, outcomes: Sequence[tuple[int, float, int]]) -> None:
        """``(id, delivered_at, http_status)`` of deliveries the receiver accepted."""
        await self.conn.executemany(
            "UPDATE webhook_outbox SET status = 'delivered', delivered_at = ?, last_status = ?, last_error = NULL"
            " WHERE id = ?",
            [(at, http_status, delivery_id) for delivery_id, at, http_status in outcomes],
        )

    async def mark_failed(self, outcomes: Sequence[tuple[int, bool, float, int | None, str]]) -> None:
        """``(id, dead, due_at, http_status, error)`` of failed deliveries: retried at ``due_at`` unless dead."""
        await self.conn.executemany(
            "UPDATE webhook_outbox SET status = ?, next_attempt_at = ?, last_status = ?, last_error = ? WHERE id = ?",
            [
                ("dead" if dead else "pending", due_at, http_status, error, delivery_id)
                for delivery_id, dead, due_at, http_status, error in outcomes
            ],
        )

    async def drop_deliveries(self, delivery_ids: Sequence[int]) -> None:
        await self.conn.executemany("DELETE FROM webhook_outbox WHERE id = ?", [(i,) for i in delivery_ids])

    async def deliveries(
        self, site_id: int, status: str | None, before: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """The site's deliveries, newest first, optionally of one status and older than id ``before``."""
        sql = f"SELECT {_DELIVERY} FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id WHERE o.site_id = ?"
        args: list[Any] = [site_id]
        if status is not None:
            sql += " AND o.status = ?"
            args.append(status)
        if before is not None:
            sql += " AND o.id < ?"
            args.append(before)
        rows = await self.conn.fetchall(sql + " ORDER BY o.id DESC LIMIT ?", *args, limit)
        return [_delivery(row) for row in rows]

    async def resend_delivery(self, site_id: int, delivery_id: int, now: float) -> bool:
        """Make a delivery (dead, delivered or pending) due now with a fresh attempt budget."""
        changed = await self.conn.execute(
            "UPDATE webhook_outbox SET status = 'pending', attempts = 0, next_attempt_at = ?"
            " WHERE id = ? AND site_id = ?",
            now,
            delivery_id,
            site_id,
        )
        return changed == 1

    async def prune_deliveries(self, before: float) -> int:
        """Forget deliveries made before ``before``; dead ones stay until resent or deleted."""
        return await self.conn.execute(
            "DELETE FROM webhook_outbox WHERE status = 'delivered' AND delivered_at < ?", before
        )

    # -- exports -------------------------------------------------------------------------------

    async def events_of_many(self, person_ids: Collection[int]) -> list[dict[str, Any]]:
        """Every event of these persons, person by person, oldest first."""
        if not person_ids:
            return []
        marks = ", ".join("?" for _ in person_ids)
        rows = await self.conn.fetchall(
            "SELECT id, person_id, visitor_id, ts, type, name, url, referrer, props, title, visit FROM event_rows"
            f" WHERE person_id IN ({marks}) ORDER BY person_id, ts, id",
            *person_ids,
        )
        return [{"person_id": int(row["person_id"]), **timeline_event_of_row(row)} for row in rows]


def _assignment(row: Row) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "person_id": int(row["person_id"]),
        "route": row["route_id"],
        "queue": row["queue"],
        "owner": row["owner"],
        "reason": row["reason"],
        "actor": row["actor"],
        "ts": float(row["ts"]),
    }


def _delivery(row: Row) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "site_id": int(row["site_id"]),
        "webhook_id": int(row["webhook_id"]),
        "url": row["url"],
        "person_id": int(row["person_id"]),
        "event": row["event"],
        "data": orjson.loads(row["data"]) if row["data"] else {},
        "occurred_at": float(row["occurred_at"]),
        "status": row["status"],
        "attempts": int(row["attempts"]),
        "next_attempt_at": float(row["next_attempt_at"]),
        "last_status": row["last_status"],
        "last_error": row["last_error"],
        "delivered_at": row["delivered_at"],
    }
