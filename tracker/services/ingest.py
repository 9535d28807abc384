"""The ingest pipeline: record one request's events for one device, durably, in one unit.

Shared by the beacon (``web.collect``) and the Segment API (``web.segment``): whatever the
door, an event is identified, stored, scored and staged the same way, announced to
webhooks and routed to sales (``services.handoff``) in that same unit, and the
decisions the response carries are computed from the score it just earned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from tracker.domain.decisions import decide, record_feedback, record_held_out
from tracker.domain.devices import Device
from tracker.domain.experiments import CONTROL, HELD_OUT_ACTION, assign
from tracker.domain.facts import Decision, Event, Incoming, ProfileChange, VisitContext
from tracker.domain.identity import Identity, update_profile
from tracker.domain.people import SESSION_GAP, PersonRecord, VisitorRecord
from tracker.domain.scoring import apply_event, current_scores
from tracker.domain.sites import Site
from tracker.domain.targeting import UTM_KEYS, PersonView
from tracker.services.abuse import MAX_DEVICES
from tracker.services.accounts import account_after_event
from tracker.services.handoff import hand_off
from tracker.services.identify import identify, start_visitor
from tracker.services.outcomes import add_outcome
from tracker.services.stages import advance_stage
from tracker.store import Queries

# Events that report what the visitor did with a campaign; they go to the decision log.
CAMPAIGN_EVENTS = frozenset({"impression", "close", "conversion", "chat"})


@dataclass(slots=True)
class Subject:
    """The device and person events are being recorded for, within one unit."""

    person: PersonRecord
    visitor: VisitorRecord
    # Scores whose denormalised copy in person_scores must be rewritten when saving.
    changed: set[str] = field(default_factory=set)
    last_event_id: int | None = None
    # Named warnings for the caller to pass on (Segment's notes), e.g. identity.EMAIL_HELD.
    warnings: list[str] = field(default_factory=list)

    @property
    def session(self) -> str:
        return f"{self.visitor.id}:{self.visitor.visits}"


async def open_subject(
    q: Queries,
    site: Site,
    visitor_id: str | None,
    device: str,
    browser: str,
    now: float,
    make_visitor_id: Callable[[], str],
    *,
    events: int = 0,
) -> Subject:
    """The device ``visitor_id`` and its person, locked; a new anonymous pair if it is unknown.

    The visit count moves on when the device was idle for longer than a session.  ``events``: how
    many events the unit will record for it (their ids are taken with the read where that saves a statement).
    """
    found = await q.device_and_person(visitor_id, site.id, events=events) if visitor_id else None
    if found is None:
        person = await q.insert_person(site.id, now, events=events)
        return Subject(person, await start_visitor(q, person, device, browser, now, make_visitor_id))
    return resume_subject(*found, device, browser, now)


def resume_subject(visitor: VisitorRecord, person: PersonRecord, device: str, browser: str, now: float) -> Subject:
    """A device and its person already read (and locked) in this unit, seen again ``now``."""
    if now - visitor.last_seen_at > SESSION_GAP:
        visitor.visits += 1
    visitor.last_seen_at = now
    visitor.device, visitor.browser = device, browser
    return Subject(person, visitor)


async def record(
    q: Queries,
    site: Site,
    subject: Subject,
    incoming: Incoming,
    now: float,
    make_visitor_id: Callable[[], str],
) -> Event:
    """Identify (if the event carries an identity), store, score and stage one event, and the outcome of
    a goal it reaches."""
    scoring = site.programme.scoring
    merged_from: int | None = None
    # Profile values from a device the person never used only fill empty fields (identity.update_profile).
    trusted = True
    changes: list[ProfileChange] = []
    if incoming.email is not None or incoming.user_id is not None:
        identified = await identify(
            q,
            scoring,
            subject.person,
            subject.visitor,
            Identity(incoming.email, incoming.user_id),
            now,
            make_visitor_id,
        )
        if identified.switched:
            # The previous person keeps everything up to here; save it before moving on.
            await save_subject(q, subject, everything=True)
            subject.changed = set()
        elif identified.merged_from is not None:
            subject.changed = set()  # the merge rewrote every score copy from its replay
        subject.person, subject.visitor = identified.person, identified.visitor
        merged_from = identified.merged_from
        trusted = not identified.new_to_person
        changes = identified.profile_changes
        if identified.warning is not None:
            subject.warnings.append(identified.warning)
        if identified.switched or identified.merged_from is not None:
            # The person gained a device: its device rows stay bounded however often that happens.
            await q.trim_devices(subject.person.id, subject.visitor.id, MAX_DEVICES)
    person, visitor = subject.person, subject.visitor
    event = await q.insert_event(person.id, visitor.num, incoming, visitor.visits)
    subject.last_event_id = event.id
    scored = apply_event(scoring, person.scoring, event)
    person.scoring = scored.state
    await q.insert_ledger(person.id, scored.ledger)
    subject.changed.update(entry.score for entry in scored.ledger)
    if incoming.type in ("form", "identify"):
        changes += update_profile(person.profile, incoming.props, trusted=trusted)
    if changes:
        await q.insert_profile_history(person.id, visitor.id, event.id, changes, event.ts)
    campaign = incoming.props.get("campaign")
    if incoming.type in CAMPAIGN_EVENTS and campaign in site.programme.campaign_ids:
        memory = record_feedback(person.campaigns, event, subject.session, site.programme.campaign_ids)
        if memory is not None:
            person.campaigns = memory
        # The arm the person is in now: after a merge, the survivor's (assignment follows the person id).
        experiment = site.programme.experiments.get(str(campaign))
        variant = experiment.arm_of(str(campaign), person.id).name if experiment is not None else None
        await q.insert_decisions(person.id, visitor.num, [(str(campaign), variant)], incoming.type, event.id, event.ts)
    # Before routing: a lead of an account with an owner goes to that owner.
    await account_after_event(q, site, person, event, {entry.score for entry in scored.ledger}, now)
    entered = await advance_stage(q, person, event.id, event.ts)
    # Webhooks and routing, in this same unit: announced exactly when the change is committed.
    await hand_off(
        q, site, person, event, entered=entered, crossings=scored.crossings, merged_from=merged_from, now=now
    )
    goal = site.programme.goals.reached(event)
    if goal is not None:
        # At the event's time, right after it: a replay of the history meets them in this order too.
        _, changed = await add_outcome(
            q,
            site,
            person,
            goal.outcome(event),
            actor=goal.actor,
            ts=event.ts,
            now=now,
            device=visitor.num,
            visit=visitor.visits,
        )
        subject.changed.update(changed)
    person.last_seen_at = max(person.last_seen_at, event.ts)
    person.updated_at = now
    return event


async def save_subject(q: Queries, subject: Subject, *, everything: bool = False) -> None:
    """Write the person, the device and the changed scores' copies (all of them if ``everything``)."""
    person = subject.person
    await q.save_person(person)
    await q.save_visitor(subject.visitor)
    names = person.scoring.values.keys() if everything else subject.changed
    if names:
        await q.save_scores(person.id, {name: person.scoring.values[name] for name in names}, person.scoring.last)
    q.remember_device(subject.visitor, person)


@dataclass(frozen=True, slots=True)
class Outcome:
    visitor_id: str
    person_id: int
    decisions: list[Decision]
    bot: str | None = None  # the device was caught as a bot before: nothing was recorded


async def process(
    q: Queries,
    site: Site,
    visitor_id: str | None,
    events: list[Incoming],
    device: Device,
    now: float,
    make_visitor_id: Callable[[], str],
) -> Outcome:
    """Store, score and decide for one request (runs inside the write transaction)."""
    subject = await open_subject(
        q, site, visitor_id, device.type, device.browser, now, make_visitor_id, events=len(events)
    )
    if subject.visitor.bot is not None:
        return Outcome(subject.visitor.id, subject.person.id, [], bot=subject.visitor.bot)
    for incoming in events:
        await record(q, site, subject, incoming, now, make_visitor_id)
    person, visitor = subject.person, subject.visitor
    scores = current_scores(site.programme.scoring, person.scoring, now)
    view = PersonView(stage=person.stage, scores=scores, campaigns=person.campaigns)
    chosen = decide(site.programme.campaigns, view, _context(events, subject), now)
    decisions, exposures = assign(chosen, site.programme.experiments, person.id)
    if decisions:
        served = [(d.campaign, d.variant) for d in decisions]
        await q.insert_decisions(person.id, visitor.num, served, "served", subject.last_event_id, now)
    held = [exposure.campaign for exposure in exposures if exposure.held_out]
    if held:
        # Logged at the moment they would have been shown, so uplift compares like with like.
        await q.insert_decisions(
            person.id, visitor.num, [(c, CONTROL) for c in held], HELD_OUT_ACTION, subject.last_event_id, now
        )
        for campaign in held:
            person.campaigns = record_held_out(person.campaigns, campaign, subject.session, now)
    await save_subject(q, subject)
    return Outcome(visitor.id, person.id, decisions)


def _context(events: list[Incoming], subject: Subject) -> VisitContext:
    """Where the visitor is now: the last page they viewed in this request, else the last event's page."""
    current = next((e for e in reversed(events) if e.type == "page"), events[-1])
    url = str(current.props.get("page") or current.url) if current.type in ("download", "outbound") else current.url
    return VisitContext(
        url=url,
        referrer=current.referrer,
        utm=utm_of(url),
        device=subject.visitor.device or "desktop",
        visits=subject.visitor.visits,
        session=subject.session,
    )


def utm_of(url: str) -> dict[str, str]:
    if "utm_" not in url:  # most pages: no need to parse the URL at all
        return {}
    try:
        query = urlsplit(url).query
    except ValueError:
        return {}
    found: dict[str, str] = {}
    for key, value in parse_qsl(query):
        if key.startswith("utm_") and key[4:] in UTM_KEYS:
            found[key[4:]] = value
    return found
