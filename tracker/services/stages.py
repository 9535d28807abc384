"""Recording stage transitions: each one once, with the event that caused it."""

from __future__ import annotations

from tracker.domain.facts import STAGE_RANK, STAGES
from tracker.domain.people import PersonRecord
from tracker.domain.stages import stage_for
from tracker.store import Queries


async def advance_stage(q: Queries, person: PersonRecord, event_id: int | None, ts: float) -> list[str]:
    """Move ``person`` forward to the stage its identity and scores warrant; return stages entered."""
    target = stage_for(person)
    current = STAGE_RANK[person.stage]
    if STAGE_RANK[target] <= current:
        return []
    entered: list[str] = [stage for stage in STAGES if current < STAGE_RANK[stage] <= STAGE_RANK[target]]
    for stage in entered:
        await q.insert_stage(person.id, stage, ts, event_id)
    person.stage = target
    return entered
