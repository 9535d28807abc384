"""Handing leads to sales, inside the write unit that changed them: routing and announcements.

When a person enters a routed stage, the routing table (``domain.routing``) picks a queue
and, in turn, an owner; the assignment and the webhook announcement are written in the
same unit, so both happen exactly when the change is committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tracker.domain.facts import STAGE_RANK, Crossing, Event
from tracker.domain.people import PersonRecord
from tracker.domain.programme.sales_holdout import HELD_OUT, HOLDOUT_REASON
from tracker.domain.routing import ROUTE_STAGES, LeadView, Route, account_route, choose_route, pick_owner
from tracker.domain.scoring import current_scores
from tracker.domain.sites import Site
from tracker.errors import BadRequest, HTTPError
from tracker.services.outbox import announce
from tracker.store import Queries

SYSTEM = "system"


class ReassignedMeanwhile(HTTPError):
    """The lead's routing changed since the reassigning user read it: nothing was changed."""

    status = 409
    code = "conflict"


# ---------------------------------------------------------------------------
# Inside write units


async def lead_view(q: Queries, site: Site, person: PersonRecord, now: float) -> LeadView:
    routes = site.programme.routes
    events = await q.events_of(person.id) if any(route.needs_events for route in routes) else ()
    scores = current_scores(site.programme.scoring, person.scoring, now)
    return LeadView(person.stage, scores, person.profile, events)


async def assign(
    q: Queries,
    site_id: int,
    person_id: int,
    route: Route,
    *,
    reason: str,
    actor: str,
    now: float,
    previous: Mapping[str, Any] | None = None,
    owner: str | None = None,
) -> dict[str, Any]:
    """Put the person in ``route``'s queue with ``owner``, else the next available one; record and announce it."""
    if owner is None and route.owners:
        unavailable = await q.unavailable_owners(site_id)
        owner, turn = pick_owner(route.owners, unavailable, await q.take_turn(site_id, route.queue))
        await q.set_turn(site_id, route.queue, turn)
    await q.insert_assignment(site_id, person_id, route.id, route.queue, owner, reason=reason, actor=actor, ts=now)
    routed: dict[str, Any] = {"route": route.id, "queue": route.queue, "owner": owner, "reason": reason}
    if previous is not None:
        routed["previous"] = {key: previous[key] for key in ("route", "queue", "owner")}
    await announce(q, site_id, person_id, [("person.routed", routed)], occurred_at=now, now=now)
    return routed


async def hand_off(
    q: Queries,
    site: Site,
    person: PersonRecord,
    event: Event,
    *,
    entered: Sequence[str],
    crossings: Sequence[Crossing],
    merged_from: int | None,
    now: float,
) -> None:
    """After one event is recorded: announce what it changed, and route a lead that reached a stage."""
    signals = _signals(site, event, entered, crossings, merged_from)
    if signals:
        await announce(q, site.id, person.id, signals, occurred_at=event.ts, now=now)
    await route_entered(q, site, person, entered, now)


async def route_entered(q: Queries, site: Site, person: PersonRecord, entered: Sequence[str], now: float) -> None:
    """Route a lead that just entered a stage some route applies from (or of an account with an owner),
    unless it is routed already."""
    if not entered:
        return
    routes = site.programme.routes
    routed = any(STAGE_RANK[person.stage] >= STAGE_RANK[route.stage] for route in routes)
    owner = await q.account_owner_of(person.id)
    if not routed and owner is None:
        return
    if await q.active_assignments([person.id]):
        return
    holdout = site.programme.sales_holdout
    if holdout is not None and "sql" in entered and holdout.holds_out(person.id):
        # Recorded, never announced: for sales' tools nothing happened, which is the point.
        await q.insert_assignment(
            site.id, person.id, HELD_OUT, HELD_OUT, None, reason=HOLDOUT_REASON, actor=SYSTEM, ts=now
        )
        return
    route = choose_route(routes, await lead_view(q, site, person, now)) if routed else None
    if owner is not None:
        # The account's owner takes every lead of the account, whichever queue it is in.
        route = route or account_route(owner)
    if route is not None:
        await assign(q, site.id, person.id, route, reason=f"stage:{person.stage}", actor=SYSTEM, now=now, owner=owner)


async def hand_to_account_owner(q: Queries, site: Site, person: PersonRecord, owner: str, now: float) -> None:
    """Route a lead of an account to the account's owner, unless it is theirs already (person locked).

    It keeps its queue when its route is still in the programme.  An anonymous person is left
    alone: it is routed when it enters a stage (``hand_off``), to the owner then.
    """
    if person.stage not in ROUTE_STAGES:
        return
    current = (await q.active_assignments([person.id])).get(person.id)
    if current is not None and current["owner"] == owner:
        return
    kept = next((route for route in site.programme.routes if current and route.id == current["route"]), None)
    route = kept or account_route(owner)
    await assign(q, site.id, person.id, route, reason="account", actor=SYSTEM, now=now, previous=current, owner=owner)


def _signals(
    site: Site, event: Event, entered: Sequence[str], crossings: Sequence[Crossing], merged_from: int | None
) -> list[tuple[str, dict[str, Any]]]:
    """The webhook events one recorded event gives rise to, in the order they happened."""
    signals: list[tuple[str, dict[str, Any]]] = []
    if merged_from is not None:
        signals.append(("person.merged", {"merged_from": merged_from, "event_id": event.id}))
    if "known" in entered:
        signals.append(("person.identified", {"event_id": event.id}))
    signals.extend(
        ("score.threshold_crossed", {"score": c.score, "level": c.level, "event_id": c.event_id}) for c in crossings
    )
    signals.extend(
        ("person.stage_changed", {"stage": stage, "event_id": event.id}) for stage in entered if stage in ("mql", "sql")
    )
    campaign = event.props.get("campaign")
    if event.type == "conversion" and campaign in site.programme.campaign_ids:
        signals.append(("campaign.converted", {"campaign": campaign, "event_id": event.id}))
    return signals


async def reroute(q: Queries, site: Site, person: PersonRecord, *, actor: str, now: float) -> dict[str, Any] | None:
    """Re-evaluate the routing table for a lead; a new assignment if it names another queue.

    None when nothing changes: no route applies, or the lead already is in that queue
    (it keeps its owner then).
    """
    current = (await q.active_assignments([person.id])).get(person.id)
    route = await _another_route(q, site, person, current, now)
    if route is None:
        return None
    return await assign(q, site.id, person.id, route, reason="reroute", actor=actor, now=now, previous=current)


async def suggestion(
    q: Queries, site: Site, person: PersonRecord, current: Mapping[str, Any] | None, now: float
) -> dict[str, str] | None:
    """Where ``reroute`` would move the lead now, if anywhere."""
    route = await _another_route(q, site, person, current, now)
    return None if route is None else {"route": route.id, "queue": route.queue}


async def _another_route(
    q: Queries, site: Site, person: PersonRecord, current: Mapping[str, Any] | None, now: float
) -> Route | None:
    """The route the table picks now, when it names another queue than the one in force."""
    if person.stage not in ROUTE_STAGES or not site.programme.routes:
        return None
    route = choose_route(site.programme.routes, await lead_view(q, site, person, now))
    if route is None or (current is not None and current["queue"] == route.queue):
        return None
    return route


async def reassign(
    q: Queries,
    site: Site,
    person: PersonRecord,
    *,
    route_id: str,
    owner: str | None,
    expected: tuple[str | None, str | None] | None,
    actor: str,
    now: float,
) -> dict[str, Any]:
    """Hand a lead to a route's queue and, if named, one of its owners (else the next in turn).

    ``expected`` is the (queue, owner) the user saw: if another change came in between, the
    reassignment is refused rather than silently undoing it.  Call with the person locked.
    """
    route = next((route for route in site.programme.routes if route.id == route_id), None)
    if route is None:
        raise BadRequest(f"no route {route_id!r} in this site's programme", field="route")
    if owner is not None and owner not in route.owners:
        raise BadRequest(f"{owner} does not serve queue {route.queue}", field="owner")
    current = (await q.active_assignments([person.id])).get(person.id)
    seen = (current["queue"], current["owner"]) if current else (None, None)
    if expected is not None and seen != expected:
        queue, by = seen
        raise ReassignedMeanwhile(
            f"this lead was routed meanwhile (now: {queue or 'no queue'}, {by or 'no owner'}); review and retry",
            field="route",
        )
    routed = await assign(
        q, site.id, person.id, route, reason="reassign", actor=actor, now=now, previous=current, owner=owner
    )
    before = {key: current[key] for key in ("route", "queue", "owner")} if current else None
    after = {key: routed[key] for key in ("route", "queue", "owner")}
    await q.insert_audit(site.id, now, actor, "lead_reassign", person.id, {"before": before, "after": after})
    return routed
