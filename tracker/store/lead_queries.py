"""SQL for listing leads: by stage and stored score, filtered, cursor-paged, counted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracker.domain.people import PersonRecord
from tracker.store.conn import Conn
from tracker.store.rows import PERSON_COLUMNS, person_of_row


class LeadQueries:
    conn: Conn

    async def leads(
        self,
        site_id: int,
        stages: Sequence[str],
        *,
        score: str,
        min_score: float | None = None,
        since: float | None = None,
        queue: str | None = None,
        owner: str | None = None,
        after: tuple[float, int] | None = None,
        limit: int,
    ) -> list[tuple[float, PersonRecord]]:
        """Persons in ``stages`` by stored ``score``, highest first, each with that stored value.

        ``after`` is the (stored value, id) of the last row of the previous batch.  Decay is
        applied by the caller; stored values bound decayed ones from above.
        """
        where, args = _lead_filter(site_id, stages, score, min_score, since, queue, owner)
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

    async def count_leads(
        self,
        site_id: int,
        stages: Sequence[str],
        *,
        score: str,
        min_score: float | None = None,
        since: float | None = None,
        queue: str | None = None,
        owner: str | None = None,
    ) -> int:
        where, args = _lead_filter(site_id, stages, score, min_score, since, queue, owner)
        return int(await self.conn.fetchval(f"SELECT COUNT(*) {where}", *args))


def _lead_filter(
    site_id: int,
    stages: Sequence[str],
    score: str,
    min_score: float | None,
    since: float | None,
    queue: str | None,
    owner: str | None,
) -> tuple[str, list[Any]]:
    """The FROM and WHERE clauses of a lead listing, and their arguments."""
    marks = ", ".join("?" for _ in stages)
    sql = (
        "FROM persons p LEFT JOIN person_scores s ON s.person_id = p.id AND s.score = ?"
        f" WHERE p.site_id = ? AND p.stage IN ({marks})"
    )
    args: list[Any] = [score, site_id, *stages]
    if min_score is not None:
        sql += " AND COALESCE(s.value, 0) >= ?"
        args.append(min_score)
    if since is not None:
        sql += " AND p.last_seen_at >= ?"
        args.append(since)
    # The routing in force (see routing.py): a queue's leads, or one owner's.
    for column, value in (("queue", queue), ("owner", owner)):
        if value is not None:
            sql += " AND EXISTS (SELECT 1 FROM assignments a WHERE a.person_id = p.id AND a.active = 1"
            sql += f" AND a.{column} = ?)"
            args.append(value)
    return sql, args
