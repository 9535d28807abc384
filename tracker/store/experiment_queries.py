"""SQL for experiments: who met which campaign arm first, which new SQLs were held out of routing or
routed, and when the goals were reached."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from tracker.domain.experiments import HELD_OUT_ACTION
from tracker.domain.uplift import FirstExposure
from tracker.store.conn import Conn, Row

# The decision log's actions that expose a person to an arm: shown, or held out where it would have been.
EXPOSURES = ("served", HELD_OUT_ACTION)


class ExperimentQueries:
    conn: Conn

    async def experiment_exposures(self, site_id: int, campaign: str) -> list[FirstExposure]:
        """Each person's first exposure to each arm of ``campaign`` (``uplift.first_exposures`` keeps the earliest)."""
        rows = await self.conn.fetchall(
            "SELECT d.person_id, d.variant, MIN(d.ts) AS ts FROM decisions d JOIN persons p ON p.id = d.person_id"
            " WHERE d.campaign = ? AND d.action IN (?, ?) AND d.variant IS NOT NULL AND p.site_id = ?"
            " GROUP BY d.person_id, d.variant",
            campaign,
            *EXPOSURES,
            site_id,
        )
        return [FirstExposure(int(row["person_id"]), str(row["variant"]), float(row["ts"])) for row in rows]

    async def experiment_goals(self, site_id: int, campaign: str, goals: Collection[str]) -> dict[int, list[float]]:
        """When each exposed person reached a goal: the campaign's conversion event, a lead won."""
        parts: list[str] = []
        if "conversion" in goals:
            parts.append("SELECT person_id, ts FROM decisions WHERE campaign = ? AND action = 'conversion'")
        if "won" in goals:
            # Outcomes are events of the person (domain.outcomes); only those of exposed people matter,
            # people with an arm.
            parts.append(
                "SELECT e.person_id, e.ts FROM events e WHERE e.type = 'outcome' AND e.name = 'won'"
                " AND e.person_id IN (SELECT person_id FROM decisions"
                " WHERE campaign = ? AND action IN (?, ?) AND variant IS NOT NULL)"
            )
        if not parts:
            return {}
        args: list[object] = [campaign] if "conversion" in goals else []
        if "won" in goals:
            args += [campaign, *EXPOSURES]
        rows = await self.conn.fetchall(
            "SELECT g.person_id, g.ts FROM (" + " UNION ALL ".join(parts) + ") g"
            " JOIN persons p ON p.id = g.person_id WHERE p.site_id = ?",
            *args,
            site_id,
        )
        return _times_by_person(rows)

    async def sales_holdout_leads(self, site_id: int, reasons: Collection[str]) -> list[FirstExposure]:
        """Each lead's first assignment for one of ``reasons``, the reason as its arm."""
        marks = ", ".join("?" for _ in reasons)
        rows = await self.conn.fetchall(
            "SELECT person_id, reason, MIN(ts) AS ts FROM assignments"
            f" WHERE site_id = ? AND reason IN ({marks}) GROUP BY person_id, reason",
            site_id,
            *reasons,
        )
        return [FirstExposure(int(row["person_id"]), str(row["reason"]), float(row["ts"])) for row in rows]

    async def leads_won(self, site_id: int, reasons: Collection[str]) -> dict[int, list[float]]:
        """When each lead assigned for one of ``reasons`` was marked won."""
        marks = ", ".join("?" for _ in reasons)
        rows = await self.conn.fetchall(
            "SELECT e.person_id, e.ts FROM events e WHERE e.type = 'outcome' AND e.name = 'won' AND e.person_id IN"
            f" (SELECT person_id FROM assignments WHERE site_id = ? AND reason IN ({marks}))",
            site_id,
            *reasons,
        )
        return _times_by_person(rows)


def _times_by_person(rows: Iterable[Row]) -> dict[int, list[float]]:
    found: dict[int, list[float]] = {}
    for row in rows:
        found.setdefault(int(row["person_id"]), []).append(float(row["ts"]))
    return found
