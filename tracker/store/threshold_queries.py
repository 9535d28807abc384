"""SQL for threshold proposals: changes of MQL/SQL thresholds that marketing and sales agree on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tracker.domain.programme.thresholds import Thresholds
from tracker.store.conn import Conn, Row

_COLUMNS = (
    "id, site_id, score, mql_before, sql_before, mql_after, sql_after, reason, proposed_by, proposer_id, proposed_at,"
    " marketing_by, marketing_at, sales_by, sales_at, status, decided_by, decided_at, decision_reason, version"
)
# The approval columns of each side: only these names are ever put into SQL text.
_SIDE_COLUMNS = {"marketing": ("marketing_by", "marketing_at"), "sales": ("sales_by", "sales_at")}


@dataclass(frozen=True, slots=True)
class ProposalRecord:
    id: int
    site_id: int
    score: str
    before: Thresholds
    after: Thresholds
    reason: str
    proposed_by: str
    proposer_id: int | None  # the console user who proposed it (None: the CLI)
    proposed_at: float
    marketing_by: str | None
    marketing_at: float | None
    sales_by: str | None
    sales_at: float | None
    status: str
    decided_by: str | None
    decided_at: float | None  # while "applying": when the publish started
    decision_reason: str | None
    version: int | None  # the programme version that applied it

    def approved_by(self, side: str) -> str | None:
        return self.marketing_by if side == "marketing" else self.sales_by if side == "sales" else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _proposal(row: Row) -> ProposalRecord:
    return ProposalRecord(
        id=int(row["id"]),
        site_id=int(row["site_id"]),
        score=row["score"],
        before=(_number(row["mql_before"]), _number(row["sql_before"])),
        after=(_number(row["mql_after"]), _number(row["sql_after"])),
        reason=row["reason"],
        proposed_by=row["proposed_by"],
        proposer_id=int(row["proposer_id"]) if row["proposer_id"] is not None else None,
        proposed_at=float(row["proposed_at"]),
        marketing_by=row["marketing_by"],
        marketing_at=_number(row["marketing_at"]),
        sales_by=row["sales_by"],
        sales_at=_number(row["sales_at"]),
        status=row["status"],
        decided_by=row["decided_by"],
        decided_at=_number(row["decided_at"]),
        decision_reason=row["decision_reason"],
        version=int(row["version"]) if row["version"] is not None else None,
    )


class ThresholdQueries:
    conn: Conn

    async def insert_proposal(
        self,
        site_id: int,
        score: str,
        before: Thresholds,
        after: Thresholds,
        reason: str,
        proposed_by: str,
        proposer_id: int | None,
        now: float,
    ) -> int:
        proposal_id = await self.conn.fetchval(
            "INSERT INTO threshold_proposals (site_id, score, mql_before, sql_before, mql_after, sql_after, reason,"
            " proposed_by, proposer_id, proposed_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')"
            " RETURNING id",
            site_id,
            score,
            *before,
            *after,
            reason,
            proposed_by,
            proposer_id,
            now,
        )
        return int(proposal_id)

    async def proposal(self, site_id: int, proposal_id: int, *, for_update: bool = False) -> ProposalRecord | None:
        # Locked (PostgreSQL) so that two people deciding on one proposal take turns.
        lock = self.conn.lock_rows() if for_update else ""
        row = await self.conn.fetchone(
            f"SELECT {_COLUMNS} FROM threshold_proposals WHERE id = ? AND site_id = ?{lock}", proposal_id, site_id
        )
        return _proposal(row) if row is not None else None

    async def proposals(self, site_id: int, statuses: Sequence[str], limit: int) -> list[ProposalRecord]:
        """The site's proposals in these statuses, newest first."""
        marks = ", ".join("?" for _ in statuses)
        rows = await self.conn.fetchall(
            f"SELECT {_COLUMNS} FROM threshold_proposals WHERE site_id = ? AND status IN ({marks})"
            " ORDER BY id DESC LIMIT ?",
            site_id,
            *statuses,
            limit,
        )
        return [_proposal(row) for row in rows]

    async def approve_proposal(self, proposal_id: int, side: str, who: str | None, at: float | None) -> None:
        """Record (or, with None, take back) one side's approval."""
        by, when = _SIDE_COLUMNS[side]
        await self.conn.execute(
            f"UPDATE threshold_proposals SET {by} = ?, {when} = ? WHERE id = ?", who, at, proposal_id
        )

    async def set_proposal_status(
        self,
        proposal_id: int,
        status: str,
        *,
        by: str | None,
        at: float | None,
        reason: str | None = None,
        version: int | None = None,
    ) -> None:
        await self.conn.execute(
            "UPDATE threshold_proposals SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ?,"
            " version = ? WHERE id = ?",
            status,
            by,
            at,
            reason,
            version,
            proposal_id,
        )
