"""SQL for privacy: site settings, truncated IPs, the audit log, reading and deleting people.

``PERSON_REFERENCES`` is the one list of the columns that hold a person id.  Erasure
and the retention purge delete through it and the export reads through it, so a
table added later (an outbox, webhooks not yet sent) is covered by one line here;
``tests/test_privacy.py`` finds every ``person_id`` column in the live schema and
fails until it is listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from tracker.store.conn import Conn, Row
from tracker.store.rows import with_title
from tracker.store.url_queries import delete_unused_urls, urls_of_events

# (table, column) pairs.  persons comes last: while a batch is being deleted no row
# is ever left pointing at a person id that no longer exists.
PERSON_REFERENCES: tuple[tuple[str, str], ...] = (
    ("events", "person_id"),
    ("ledger", "person_id"),
    ("stages", "person_id"),
    ("decisions", "person_id"),
    ("profile_history", "person_id"),
    ("person_scores", "person_id"),
    ("visitors", "person_id"),
    ("former_devices", "person_id"),
    ("assignments", "person_id"),
    # Webhook deliveries not yet sent must not announce someone erased.
    ("webhook_outbox", "person_id"),
    # Ids merged into the person: deleting them makes those ids stop resolving too.
    ("aliases", "person_id"),
    ("account_members", "person_id"),
    ("persons", "id"),
)
# Where a table is read for an export when not from itself: events name their URLs (and titles) and
# device by number, decisions their device, ledger rows their score, rule and op.
_READ_FROM = {"events": "event_rows", "decisions": "decision_rows", "ledger": "ledger_rows"}
# Columns stored as JSON text, decoded in an export so it reads as one JSON document.
_JSON_COLUMNS = frozenset({"profile", "scoring", "campaigns", "props", "detail", "data", "new_value", "old_value"})


class PrivacyQueries:
    conn: Conn

    # -- site settings -------------------------------------------------------------------------

    async def save_site_settings(self, site_id: int, settings: Mapping[str, Any]) -> None:
        # A new version makes every instance's site registry reload the site.
        await self.conn.execute(
            "UPDATE sites SET settings = ?, version = version + 1 WHERE id = ?",
            orjson.dumps(dict(settings)).decode(),
            site_id,
        )

    # -- devices -------------------------------------------------------------------------------

    async def set_ip_prefix(self, visitor_id: str, prefix: str) -> None:
        await self.conn.execute("UPDATE visitors SET ip_prefix = ? WHERE id = ?", prefix, visitor_id)

    # -- audit log -----------------------------------------------------------------------------

    async def insert_audit(
        self, site_id: int | None, at: float, actor: str, action: str, subject: int | None, detail: Mapping[str, Any]
    ) -> int:
        audit_id = await self.conn.fetchval(
            "INSERT INTO audit_log (site_id, at, actor, action, subject, detail)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            site_id,
            at,
            actor,
            action,
            subject,
            orjson.dumps(dict(detail)).decode(),
        )
        return int(audit_id)

    async def audit_entries(self, site_id: int, limit: int) -> list[dict[str, Any]]:
        rows = await self.conn.fetchall(
            "SELECT id, at, actor, action, subject, detail FROM audit_log WHERE site_id = ? ORDER BY id DESC LIMIT ?",
            site_id,
            limit,
        )
        return [_decoded(row) for row in rows]

    # -- retention -----------------------------------------------------------------------------

    async def count_inactive(self, site_id: int, stages: Sequence[str], before: float) -> int:
        marks = ", ".join("?" for _ in stages)
        count = await self.conn.fetchval(
            f"SELECT COUNT(*) FROM persons WHERE site_id = ? AND stage IN ({marks}) AND last_seen_at < ?",
            site_id,
            *stages,
            before,
        )
        return int(count)

    async def inactive_persons(self, site_id: int, stages: Sequence[str], before: float, limit: int) -> list[int]:
        """Up to ``limit`` persons in ``stages`` last seen before ``before``, locked for deletion.

        A person another transaction holds (on PostgreSQL) is being written to right
        now, so it is skipped rather than waited for: it is about to be active again.
        """
        marks = ", ".join("?" for _ in stages)
        lock = self.conn.lock_rows(skip_locked=True)
        rows = await self.conn.fetchall(
            f"SELECT id FROM persons WHERE site_id = ? AND stage IN ({marks}) AND last_seen_at < ? LIMIT ?{lock}",
            site_id,
            *stages,
            before,
            limit,
        )
        return [int(row["id"]) for row in rows]

    # -- reading and deleting a person ---------------------------------------------------------

    async def rows_of(self, person_id: int) -> dict[str, list[dict[str, Any]]]:
        """Every row that refers to ``person_id``, table by table, JSON columns decoded."""
        found: dict[str, list[dict[str, Any]]] = {}
        for table, column in PERSON_REFERENCES:
            # ORDER BY 1: the first column is the id (or the person id) in every table.
            rows = await self.conn.fetchall(
                f"SELECT * FROM {_READ_FROM.get(table, table)} WHERE {column} = ? ORDER BY 1", person_id
            )
            found[table] = [_decoded(row) for row in rows]
        for event in found["events"]:
            with_title(event["props"], event.pop("title"))
        return found

    async def delete_persons(self, person_ids: Sequence[int]) -> dict[str, int]:
        """Delete the persons and every row that refers to them; rows deleted per table.

        The URLs their events named go too, unless another event names them.
        """
        if not person_ids:
            return {}
        marks = ", ".join("?" for _ in person_ids)
        rows = await self.conn.fetchall(
            f"SELECT DISTINCT account_id FROM account_members WHERE person_id IN ({marks})", *person_ids
        )
        urls = await urls_of_events(self.conn, f"person_id IN ({marks})", *person_ids)
        deleted: dict[str, int] = {}
        for table, column in PERSON_REFERENCES:
            count = await self.conn.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", *person_ids)
            deleted[table] = deleted.get(table, 0) + count
        await delete_unused_urls(self.conn, urls)
        # An account is its people: one left without any goes too, for its name and key came from them
        # (a company typed in a form, an e-mail domain).
        deleted["accounts"] = 0
        for row in rows:
            empty = "NOT EXISTS (SELECT 1 FROM account_members WHERE account_id = ?)"
            await self.conn.execute(f"DELETE FROM account_stages WHERE account_id = ? AND {empty}", *[row[0]] * 2)
            deleted["accounts"] += await self.conn.execute(
                f"DELETE FROM accounts WHERE id = ? AND {empty}", *[row[0]] * 2
            )
        return deleted


def _decoded(row: Row) -> dict[str, Any]:
    # sqlite3.Row iterates over values, not keys: ask for the keys explicitly.
    keys = row.keys()
    return {key: orjson.loads(row[key]) if key in _JSON_COLUMNS and row[key] else row[key] for key in keys}
