"""Rebuilding a person's scores from the events it has left: one way, whatever changed them.

A merge (two histories become one) and a quarantine (a bot device's events are taken back)
both end here: the stored events are replayed through the programme in time order, so caps
and decay apply as if the history had always been this one, and the ledger and the score
copies the lead list sorts on are rewritten from that replay.
"""

from __future__ import annotations

from tracker.domain.people import PersonRecord
from tracker.domain.scoring import Scoring, replay
from tracker.store import Queries


async def rebuild_scores(q: Queries, scoring: Scoring, person: PersonRecord) -> None:
    """Replay ``person``'s stored events; rewrite its ledger and score copies; update it in memory."""
    rebuilt = replay(scoring, await q.events_of(person.id))
    await q.forget_scores(person.id)
    await q.insert_ledger(person.id, rebuilt.ledger)
    await q.save_scores(person.id, rebuilt.state.values, rebuilt.state.last)
    person.scoring = rebuilt.state
