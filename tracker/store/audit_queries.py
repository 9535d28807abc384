"""SQL for reading the audit log: newest first, filtered, one keyset page at a time.

Writing an entry is ``PrivacyQueries.insert_audit``; ``site_id`` None is an install-wide
change (users, for instance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tracker.store.conn import Conn

# The site filter's value for "install-wide entries only" (site_id NULL).
INSTALL = 0


@dataclass(frozen=True, slots=True)
class AuditFilter:
    site_id: int | None = None  # None: every site and the install; INSTALL: install-wide only
    actor: str | None = None
    action: str | None = None
    before: int | None = None  # an entry id: the page after it


class AuditQueries:
    conn: Conn

    async def audit_page(self, wanted: AuditFilter, limit: int) -> list[dict[str, Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if wanted.site_id == INSTALL:
            clauses.append("site_id IS NULL")
        elif wanted.site_id is not None:
            clauses.append("site_id = ?")
            args.append(wanted.site_id)
        for column, value in (("actor", wanted.actor), ("action", wanted.action)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if wanted.before is not None:
            clauses.append("id < ?")
            args.append(wanted.before)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.conn.fetchall(
            f"SELECT id, site_id, at, actor, action, subject, detail FROM audit_log{where} ORDER BY id DESC LIMIT ?",
            *args,
            limit,
        )
        return [
            {
                "id": int(row["id"]),
                "site_id": int(row["site_id"]) if row["site_id"] is not None else None,
                "at": float(row["at"]),
                "actor": row["actor"],
                "action": row["action"],
                "subject": int(row["subject"]) if row["subject"] is not None else None,
                "detail": orjson.loads(row["detail"]) if row["detail"] else {},
            }
            for row in rows
        ]

    async def audit_choices(self) -> tuple[list[str], list[str]]:
        """The actors and the actions the log holds, for the filters."""
        actors = await self.conn.fetchall("SELECT DISTINCT actor FROM audit_log ORDER BY actor")
        actions = await self.conn.fetchall("SELECT DISTINCT action FROM audit_log ORDER BY action")
        return [row["actor"] for row in actors], [row["action"] for row in actions]
