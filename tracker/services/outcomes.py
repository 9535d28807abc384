"""Recording what became of a lead: one write unit stores the outcome event, announces it, audits it.

The console's lead page and ``POST /api/leads/{id}/outcome`` both call ``record_outcome``; the
simulator (``services.simulate``) calls its unit, ``store_outcome``.
"""

from __future__ import annotations

from typing import Any

from tracker.domain.clock import iso
from tracker.domain.facts import OUTCOME_EVENT, Incoming
from tracker.domain.outcomes import Outcome, outcome_of_event
from tracker.domain.sites import Site
from tracker.services.outbox import announce
from tracker.store import Queries, Store

# Sales records outcomes from no device; the timeline shows each such event as a visit of its own.
NO_DEVICE = ""


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
    incoming = Incoming(OUTCOME_EVENT, now, name=outcome.kind, props=outcome.props(actor))
    event = await q.insert_event(person.id, NO_DEVICE, incoming, 0)
    recorded = outcome_of_event({"id": event.id, "name": event.name, "props": event.props, "ts": event.ts})
    data = {key: recorded[key] for key in ("kind", "value", "reason", "event_id")}
    await announce(q, site.id, person.id, [("person.outcome", data)], occurred_at=now, now=now)
    await q.insert_audit(site.id, now, actor, "lead_outcome", person.id, {"after": data})
    return {"id": person.id, **recorded, "ts": iso(now)}


async def outcomes_of(q: Queries, person_id: int) -> list[dict[str, Any]]:
    """Every outcome of a person, oldest first, as the API shows them."""
    return [{**outcome_of_event(event), "ts": iso(event["ts"])} for event in await q.outcomes_of(person_id)]
