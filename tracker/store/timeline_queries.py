"""SQL for reading a person's timeline a visit at a time, and the outcomes sales recorded.

A visit is one device's numbered visit (``visitor_id``, ``visit``); an event with no device
(an outcome recorded by sales) is a visit of its own.  Both reads go through the
``events_person_ts`` index, so a person with thousands of events costs one index range (and the
look-up of each event's device id by its number, in ``event_rows``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from tracker.store.conn import Conn
from tracker.store.rows import timeline_event_of_row

# (last event's ts, visitor_id, visit, solo): the order of visits, newest first, and a page's cursor.
VisitKey = tuple[float, str, int, int]

_VISITS = (
    "SELECT visitor_id, visit, solo, MIN(ts) AS first_ts, MAX(ts) AS last_ts, COUNT(*) AS events FROM ("
    " SELECT visitor_id, visit, ts, CASE WHEN visitor_id = '' THEN id ELSE 0 END AS solo"
    " FROM event_rows WHERE person_id = ?) e GROUP BY visitor_id, visit, solo"
)


class TimelineQueries:
    conn: Conn

    async def visits_of(self, person_id: int, before: VisitKey | None, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` visits of a person, the most recently active first, after cursor ``before``."""
        sql = f"SELECT * FROM ({_VISITS}) v"
        args: list[Any] = [person_id]
        if before is not None:
            last, visitor, visit, solo = before
            sql += (
                " WHERE last_ts < ? OR (last_ts = ? AND (visitor_id > ? OR (visitor_id = ?"
                " AND (visit > ? OR (visit = ? AND solo > ?)))))"
            )
            args += [last, last, visitor, visitor, visit, visit, solo]
        rows = await self.conn.fetchall(f"{sql} ORDER BY last_ts DESC, visitor_id, visit, solo LIMIT ?", *args, limit)
        return [
            {
                "device": row["visitor_id"],
                "visit": int(row["visit"]),
                "solo": int(row["solo"]),
                "first_ts": float(row["first_ts"]),
                "last_ts": float(row["last_ts"]),
                "events": int(row["events"]),
            }
            for row in rows
        ]

    async def events_during(self, person_id: int, start: float, end: float) -> list[dict[str, Any]]:
        """The person's events from ``start`` to ``end`` inclusive, oldest first."""
        rows = await self.conn.fetchall(
            "SELECT id, visitor_id, ts, type, name, url, referrer, props, title, visit FROM event_rows"
            " WHERE person_id = ? AND ts >= ? AND ts <= ? ORDER BY ts, id",
            person_id,
            start,
            end,
        )
        return [timeline_event_of_row(row) for row in rows]

    async def outcomes_of(self, person_id: int) -> list[dict[str, Any]]:
        """Every outcome recorded for the person, oldest first (the calibration reports read these)."""
        rows = await self.conn.fetchall(
            "SELECT id, visitor_id, ts, type, name, url, referrer, props, title, visit FROM event_rows"
            " WHERE person_id = ? AND type = 'outcome' ORDER BY ts, id",
            person_id,
        )
        return [timeline_event_of_row(row) for row in rows]

    async def latest_outcomes(self, person_ids: Collection[int]) -> dict[int, dict[str, Any]]:
        """The newest outcome of each of these persons that has one."""
        if not person_ids:
            return {}
        marks = ", ".join("?" for _ in person_ids)
        rows = await self.conn.fetchall(
            "SELECT person_id, id, visitor_id, ts, type, name, url, referrer, props, title, visit FROM event_rows"
            f" WHERE person_id IN ({marks}) AND type = 'outcome' ORDER BY person_id, ts, id",
            *person_ids,
        )
        # Oldest first: the last row written for a person is their newest.
        return {int(row["person_id"]): timeline_event_of_row(row) for row in rows}
