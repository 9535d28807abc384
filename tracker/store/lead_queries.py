"""SQL for listing leads: by stage and stored score, filtered, cursor-paged, counted."""

from __future__ import annotations

from typing import Any

from tracker.domain.lead_filter import LeadFilter
from tracker.domain.people import PersonRecord
from tracker.store.conn import Conn
from tracker.store.rows import PERSON_COLUMNS, dumps, person_of_row


class LeadQueries:
    conn: Conn

    async def leads(
        self, site_id: int, wanted: LeadFilter, *, after: tuple[float, int] | None = None, limit: int
    ) -> list[tuple[float, PersonRecord]]:
        """Persons ``wanted`` narrows to, by stored score, highest first, each with that stored value.

        ``after`` is the (stored value, id) of the last row of the previous batch.  Decay and
        the exact search are applied by the caller (``LeadFilter.admits``); stored values bound
        decayed ones from above.
        """
        where, args = _lead_filter(site_id, wanted)
        if after is not None:
            where += " AND (COALESCE(s.value, 0) < ? OR (COALESCE(s.value, 0) = ? AND p.id > ?))"
            args += [after[0], after[0], after[1]]
        rows = await self.conn.fetchall(
            f"SELECT {', '.join('p.' + c.strip() for c in PERSON_COLUMNS.split(','))},"
            f" COALESCE(s.value, 0) AS sort_value {where} ORDER BY COALESCE(s.value, 0) DESC, p.id LIMIT ?",
            *args,
            limit,
        )
        return [(float(row["sort_value"]), person_of_row(row)) for row in rows]

    async def count_leads(self, site_id: int, wanted: LeadFilter) -> int:
        """How many rows ``leads`` would scan: an upper bound when decay or the search still filter."""
        where, args = _lead_filter(site_id, wanted)
        return int(await self.conn.fetchval(f"SELECT COUNT(*) {where}", *args))


def like_pattern(text: str) -> str:
    """A LIKE pattern finding ``text`` anywhere, its own % and _ taken literally (ESCAPE '!')."""
    return "%" + text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def _lead_filter(site_id: int, wanted: LeadFilter) -> tuple[str, list[Any]]:
    """The FROM and WHERE clauses of a lead listing, and their arguments."""
    marks = ", ".join("?" for _ in wanted.stages)
    sql = (
        "FROM persons p LEFT JOIN person_scores s ON s.person_id = p.id AND s.score = ?"
        f" WHERE p.site_id = ? AND p.stage IN ({marks})"
    )
    args: list[Any] = [wanted.score, site_id, *wanted.stages]
    if wanted.min_score is not None:
        sql += " AND COALESCE(s.value, 0) >= ?"
        args.append(wanted.min_score)
    if wanted.since is not None:
        sql += " AND p.last_seen_at >= ?"
        args.append(wanted.since)
    if wanted.new_since is not None:
        sql += " AND EXISTS (SELECT 1 FROM stages st WHERE st.person_id = p.id AND st.stage = p.stage AND st.ts >= ?)"
        args.append(wanted.new_since)
    # The routing in force (see routing.py): a queue's leads, or one owner's.
    for column, value in (("queue", wanted.queue), ("owner", wanted.owner)):
        if value is not None:
            sql += " AND EXISTS (SELECT 1 FROM assignments a WHERE a.person_id = p.id AND a.active = 1"
            sql += f" AND a.{column} = ?)"
            args.append(value)
    needle = wanted.needle
    # SQLite's LOWER folds ASCII only: a needle beyond it is left to LeadFilter.admits alone.
    if needle is not None and needle.isascii():
        # Coarse: the profile is JSON text, so the needle is matched as JSON writes it; admits
        # keeps exactly the rows whose e-mail or company holds it.
        sql += " AND (LOWER(COALESCE(p.email, '')) LIKE ? ESCAPE '!' OR LOWER(p.profile) LIKE ? ESCAPE '!')"
        args += [like_pattern(needle), like_pattern(dumps(needle)[1:-1])]
    return sql, args
