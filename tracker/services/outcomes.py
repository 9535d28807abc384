"""Recording what became of a lead: the outcome event, what the programme does on it, its announcement.

The console's lead page and ``POST /api/leads/{id}/outcome`` call ``record_outcome``; the
simulator (``services.simulate``) calls its unit, ``store_outcome``; an event that reaches one of
the programme's goals (``domain.programme.goals``) is followed, in the ingest unit that stores
it, by ``add_outcome``.  Either way the outcome is one event of the person's history, scored
only by the scores' ``on_outcome`` (a reset on lost), and announced as ``person.outcome``.
"""

from __future__ import annotations

from typing import Any

from tracker.domain.clock import iso
from tracker.domain.facts import OUTCOME_EVENT, Incoming
from tracker.domain.outcomes import Outcome, outcome_of_event
from tracker.domain.people import PersonRecord
from tracker.domain.scoring import apply_event
from tracker.domain.sites import Site
from tracker.services.handoff import hand_off
from tracker.services.outbox import announce
from tracker.services.stages import advance_stage
from tracker.store import Queries, Store

# What ``person.outcome`` carries and the audit log keeps of an outcome.
ANNOUNCED = ("kind", "value", "reason", "event_id")


async def record_outcome(
    store: Store, site: Site, requested: int, outcome: Outcome, *, actor: str, now: float
) -> dict[str, Any] | None:
    """Store ``outcome`` for lead ``requested`` (a merged-away id resolves); None if not a lead of ``site``."""
    return await store.write(lambda q: store_outcome(q, site, requested, outcome, actor=actor, now=now))


async def store_outcome(
    q: Queries, site: Site, requested: int, outcome: Outcome, *, actor: str, now: float
) -> dict[str, Any] | None:
    """``record_outcome`` within a unit of the caller's (the simulator records thousands in one)."""
    person_id = await q.resolve_person_id(requested)
    # Locked like every change to a person, so a merge running now moves this event too.
    person = await q.person(person_id, for_update=True) if person_id is not None else None
    if person is None or person.site_id != site.id:
        return None
    recorded, changed = await add_outcome(q, site, person, outcome, actor=actor, ts=now, now=now)
    if changed:
        person.updated_at = now
        await q.save_person(person)
        values = person.scoring.values
        await q.save_scores(person.id, {name: values[name] for name in changed}, person.scoring.last)
    data = {key: recorded[key] for key in ANNOUNCED}
    await q.insert_audit(site.id, now, actor, "lead_outcome", person.id, {"after": data})
    return {"id": person.id, **recorded, "ts": iso(now)}


async def add_outcome(
    q: Queries,
    site: Site,
    person: PersonRecord,
    outcome: Outcome,
    *,
    actor: str,
    ts: float,
    now: float,
    device: int | None = None,
    visit: int = 0,
) -> tuple[dict[str, Any], set[str]]:
    """Store ``outcome`` for the locked ``person``, apply the scores' ``on_outcome``, announce it.

    ``device``: the number of the device that reached the goal; sales records outcomes from none
    (None), and the timeline shows each such event as a visit of its own.  Returns the outcome as
    the API shows it and the scores it changed; the caller saves the person.
    """
    incoming = Incoming(OUTCOME_EVENT, ts, name=outcome.kind, props=outcome.props(actor))
    event = await q.insert_event(person.id, device, incoming, visit)
    scored = apply_event(site.programme.scoring, person.scoring, event)
    person.scoring = scored.state
    await q.insert_ledger(person.id, scored.ledger)
    recorded = outcome_of_event({"id": event.id, "name": event.name, "props": event.props, "ts": event.ts})
    data = {key: recorded[key] for key in ANNOUNCED}
    await announce(q, site.id, person.id, [("person.outcome", data)], occurred_at=ts, now=now)
    # A score raised on an outcome qualifies a lead like any other scoring.
    entered = await advance_stage(q, person, event.id, ts)
    await hand_off(q, site, person, event, entered=entered, crossings=scored.crossings, merged_from=None, now=now)
    return recorded, {entry.score for entry in scored.ledger}


async def outcomes_of(q: Queries, person_id: int) -> list[dict[str, Any]]:
    """Every outcome of a person, oldest first, as the API shows them."""
    return [{**outcome_of_event(event), "ts": iso(event["ts"])} for event in await q.outcomes_of(person_id)]
