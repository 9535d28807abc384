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
            f" (SELECT MIN(o.ts) FROM events o WHERE o.person_id = p.id AND o.type = ? AND o.name IN ({marks}))"
            " AS converted_at"
            f" FROM persons p WHERE p.id IN ({_LEADS}) ORDER BY p.id",
            OUTCOME_EVENT,
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
        return [_ledger_row(row) for row in rows]

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
        return [_ledger_row(row) for row in rows]

    async def first_conversions(
        self, site_id: int, converting: Sequence[str], seen_since: float | None = None
    ) -> dict[int, float]:
        """Each of the site's people (seen since ``seen_since``, if given) with an outcome of a
        converting kind, and when it first had one."""
        seen = "" if seen_since is None else " AND p.last_seen_at >= ?"
        marks = ", ".join("?" for _ in converting)
        rows = await self.conn.fetchall(
            "SELECT e.person_id, MIN(e.ts) AS ts FROM events e JOIN persons p ON p.id = e.person_id"
            f" WHERE p.site_id = ?{seen} AND e.type = ? AND e.name IN ({marks}) GROUP BY e.person_id",
            site_id,
            *([] if seen_since is None else [seen_since]),
            OUTCOME_EVENT,
            *converting,
        )
        return {int(row["person_id"]): float(row["ts"]) for row in rows}

    async def calibration_actions(self, site_id: int, start: float, end: float, since: float) -> list[ActionRow]:
        """The period's leads' page views and downloads from ``since`` to the period's end."""
        rows = await self.conn.fetchall(
            "SELECT person_id, ts, type, url FROM event_rows"
            f" WHERE person_id IN ({_LEADS}) AND type IN ('page', 'download') AND ts >= ? AND ts < ?"
            " ORDER BY person_id, ts, id",
            site_id,
            end,
            start,
            end,
            since,
            end,
        )
        return [ActionRow(int(row["person_id"]), float(row["ts"]), str(row["type"]), str(row["url"])) for row in rows]


def _ledger_row(row: Row) -> LedgerRow:
    return LedgerRow(int(row["person_id"]), str(row["score"]), str(row["rule_id"]), row["ts"], row["after"])


def _time(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
