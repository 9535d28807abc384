"""Rebuilding a person's scores from the events it has left: one way, whatever changed them.

A merge (two histories become one) and a quarantine (a bot device's events are taken back)
both end here: the stored events are replayed through the programme in time order, so caps
and decay apply as if the history had always been this one, and the ledger and the score
copies the lead list sorts on are rewritten from that replay.  A rescore (``services.rescore``)
writes its replays through ``write_scores`` too.
"""

from __future__ import annotations

from tracker.domain.people import PersonRecord
from tracker.domain.scoring import Scoring, ScoringResult, replay
from tracker.store import Queries


async def rebuild_scores(q: Queries, scoring: Scoring, person: PersonRecord) -> None:
    """Replay ``person``'s stored events; rewrite its ledger and score copies; update it in memory."""
    await write_scores(q, person, replay(scoring, await q.events_of(person.id)))


async def write_scores(
    q: Queries, person: PersonRecord, rebuilt: ScoringResult, *, rescored_by: int | None = None
) -> None:
    """Replace ``person``'s ledger and score copies with a replay's; ``rescored_by`` marks a rescore's rows."""
    await q.forget_scores(person.id)
    await q.insert_ledger(person.id, rebuilt.ledger, rescored_by=rescored_by)
    await q.save_scores(person.id, rebuilt.state.values, rebuilt.state.last)
    person.scoring = rebuilt.state
