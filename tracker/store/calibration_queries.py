"""SQL for the calibration reports: a period's leads, their ledger and their page views and downloads.

A period's leads are the site's people known (identified) before its end with any event in
it, outcomes included (a deal won this month for a lead last seen in spring is this month's).
Each read returns plain rows in a fixed order, so both backends hand the domain the same input.
"""

from __future__ import annotations

from collections.abc import Sequence

from tracker.domain.calibration.history import ActionRow, LedgerRow, PersonRow
from tracker.domain.facts import OUTCOME_EVENT
from tracker.store.conn import Conn, Row
from tracker.store.url_queries import url_texts

# Windows per read of actions: three parameters each, far below either database's limit.
_WINDOWS_PER_STATEMENT = 1000
# The ids of a period's leads; its parameters: site, end, start, end.
_LEADS = (
    "SELECT p.id FROM persons p JOIN stages k ON k.person_id = p.id AND k.stage = 'known'"
    " WHERE p.site_id = ? AND k.ts < ?"
    " AND EXISTS (SELECT 1 FROM events a WHERE a.person_id = p.id AND a.ts >= ? AND a.ts < ?)"
)


class CalibrationQueries:
    conn: Conn

    async def calibration_people(
        self, site_id: int, start: float, end: float, converting: Sequence[str]
    ) -> list[PersonRow]:
        """The period's leads, with their first event, first conversion ever and stage entries."""
        marks = ", ".join("?" for _ in converting)
        rows = await self.conn.fetchall(
            "SELECT p.id,"
            " (SELECT MIN(e.ts) FROM events e WHERE e.person_id = p.id AND e.type <> ?) AS first_seen,"
            # type = 'outcome' as written: the partial index of outcomes (migration 0025) answers it.
            f" (SELECT MIN(o.ts) FROM events o WHERE o.person_id = p.id AND o.type = 'outcome' AND o.name IN ({marks}))"
            " AS converted_at"
            f" FROM persons p WHERE p.id IN ({_LEADS}) ORDER BY p.id",
            OUTCOME_EVENT,
            *converting,
            site_id,
            end,
            start,
            end,
        )
        stages = await self.conn.fetchall(
            f"SELECT person_id, stage, ts FROM stages WHERE person_id IN ({_LEADS}) ORDER BY person_id, stage",
            site_id,
            end,
            start,
            end,
        )
        entered: dict[int, dict[str, float]] = {}
        for row in stages:
            entered.setdefault(int(row["person_id"]), {})[str(row["stage"])] = float(row["ts"])
        return [
            PersonRow(
                person_id=int(row["id"]),
                first_seen=_time(row["first_seen"]),
                converted_at=_time(row["converted_at"]),
                stages=entered.get(int(row["id"]), {}),
            )
            for row in rows
        ]

    async def calibration_ledger(self, site_id: int, start: float, end: float) -> list[LedgerRow]:
        """Every ledger row of the period's leads before its end, per person in ledger order."""
        rows = await self.conn.fetchall(
            "SELECT person_id, score, rule_id, ts, after FROM ledger_rows"
            f" WHERE person_id IN ({_LEADS}) AND ts < ? ORDER BY person_id, id",
            site_id,
            end,
            start,
            end,
            end,
        )
        return _ledger_rows(rows)

    async def ledger_rows_of(self, person_ids: Sequence[int], end: float) -> list[LedgerRow]:
        """Every ledger row of these people before ``end``, per person in ledger order."""
        if not person_ids:
            return []
        marks = ", ".join("?" for _ in person_ids)
        rows = await self.conn.fetchall(
            "SELECT person_id, score, rule_id, ts, after FROM ledger_rows"
            f" WHERE person_id IN ({marks}) AND ts < ? ORDER BY person_id, id",
            *person_ids,
            end,
        )
        return _ledger_rows(rows)

    async def first_conversions(
        self, site_id: int, converting: Sequence[str], seen_since: float | None = None
    ) -> dict[int, float]:
        """Each of the site's people (seen since ``seen_since``, if given) with an outcome of a
        converting kind, and when it first had one."""
        seen = "" if seen_since is None else " AND p.last_seen_at >= ?"
        marks = ", ".join("?" for _ in converting)
        rows = await self.conn.fetchall(
            "SELECT e.person_id, MIN(e.ts) AS ts FROM events e JOIN persons p ON p.id = e.person_id"
            f" WHERE p.site_id = ?{seen} AND e.type = 'outcome' AND e.name IN ({marks}) GROUP BY e.person_id",
            site_id,
            *([] if seen_since is None else [seen_since]),
            *converting,
        )
        return {int(row["person_id"]): float(row["ts"]) for row in rows}

    async def calibration_actions(self, windows: Sequence[tuple[int, float, float]]) -> list[ActionRow]:
        """The page views and downloads of each (person, since, until) from ``since`` to ``until``
        (excluded), one row per person, type and URL: how many times, and the last time.

        Each window is an index range of ``events_person_ts``: the events outside every lead's window
        (most of a long period's, as only a converter's window moves) are never read.
        """
        found: list[ActionRow] = []
        for first in range(0, len(windows), _WINDOWS_PER_STATEMENT):
            part = windows[first : first + _WINDOWS_PER_STATEMENT]
            # Typed, so that PostgreSQL knows what the parameters of a VALUES list are.
            values = ", ".join(
                "(CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION))" for _ in part
            )
            rows = await self.conn.fetchall(
                f"WITH w (person_id, since, until) AS (VALUES {values})"
                " SELECT e.person_id, e.type, e.url_id, COUNT(*), MAX(e.ts) FROM w"
                " JOIN events e ON e.person_id = w.person_id AND e.ts >= w.since AND e.ts < w.until"
                " WHERE e.type IN ('page', 'download') GROUP BY e.person_id, e.type, e.url_id",
                *(value for window in part for value in window),
            )
            urls = await url_texts(self.conn, {row[2] for row in rows if row[2] is not None})
            found += [
                ActionRow(int(person_id), float(ts), str(kind), urls[url_id][0] if url_id in urls else "", int(times))
                for person_id, kind, url_id, times, ts in rows
            ]
        return found


def _ledger_rows(rows: Sequence[Row]) -> list[LedgerRow]:
    # Unpacked in the SELECT's order: a report reads hundreds of thousands of rows.
    return [LedgerRow(person_id, score, rule_id, ts, after) for person_id, score, rule_id, ts, after in rows]


def _time(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
