"""Lead routing (seed 003: "put the lead in the right hands, in the right queue").

``[[routes]]`` in the programme are ordered rules.  Each names a queue, optionally
owners taken in turn (round robin, skipping owners marked unavailable), the stage at
which it applies (default ``sql``) and conditions on scores, on interest (which
product score leads), on profile fields and on the events of the lead's history::

    [[routes]]
    id = "field-sales"
    queue = "field-sales"
    owners = ["amelie", "bastien"]
    when = { event = { type = "page", props = { price = ">= 10000" } } }

A lead is routed once, when it enters a stage and holds no assignment yet: the first
route whose stage it has reached and whose conditions hold wins.  Scores and interest
move afterwards, but the lead stays where it is: re-routing is an explicit request
(``POST /api/leads/{id}/reroute``), and the lead's story shows the queue the table
would pick now when it differs.  Every routing is recorded, announced as a
``person.routed`` webhook, and the turn of each queue lives in the database, so round
robin stays fair across instances.

Compiling and choosing are pure; ``hand_off`` and ``reroute`` run inside the caller's
write unit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import GridError
from .expr import ExprError, compile_condition
from .gridkit import compile_array, compile_pattern, expect_table, reject_unknown
from .matching import Matcher, compile_value
from .model import STAGE_RANK, Crossing, Event
from .outbox import announce
from .scoring import Scoring, compile_when, current_scores
from .store import PersonRecord, Queries

if TYPE_CHECKING:  # sites compiles programmes, which compile routes: a type-only import breaks the cycle
    from .sites import Site

# Routing hands a lead to sales: an anonymous visitor is nobody's lead yet.
ROUTE_STAGES: tuple[str, ...] = ("known", "mql", "sql")
DEFAULT_STAGE = "sql"
SYSTEM = "system"
# Route ids, queues and owners end up in URLs, CSV columns and CRM fields.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}")
_ROUTE_KEYS = frozenset({"id", "queue", "owners", "stage", "when"})
_WHEN_KEYS = frozenset({"scores", "interest", "profile", "event", "condition"})
_INTEREST_KEYS = frozenset({"leads", "over"})


@dataclass(frozen=True, slots=True)
class LeadView:
    """What routing may look at: stage, decayed scores, profile, and (if a route asks) the history."""

    stage: str
    scores: Mapping[str, float]
    profile: Mapping[str, Any]
    events: Sequence[Event] = ()


Check = Callable[[LeadView], bool]


@dataclass(frozen=True, slots=True)
class Route:
    id: str
    queue: str
    owners: tuple[str, ...]
    stage: str
    checks: tuple[Check, ...]
    # Reading the history costs a query: only routes with an ``event`` condition need it.
    needs_events: bool = False

    def matches(self, lead: LeadView) -> bool:
        return STAGE_RANK[lead.stage] >= STAGE_RANK[self.stage] and all(check(lead) for check in self.checks)


# ---------------------------------------------------------------------------
# Choosing


def choose_route(routes: Sequence[Route], lead: LeadView) -> Route | None:
    """The first route that applies to ``lead``, in programme order."""
    return next((route for route in routes if route.matches(lead)), None)


def pick_owner(owners: Sequence[str], unavailable: Collection[str], turn: int) -> tuple[str | None, int]:
    """The owner whose turn it is, skipping unavailable ones, and the queue's next turn.

    Nobody available: no owner (the lead waits in the queue) and the turn stays put.
    """
    for step in range(len(owners)):
        owner = owners[(turn + step) % len(owners)]
        if owner not in unavailable:
            return owner, turn + step + 1
    return None, turn


def owners_of(routes: Iterable[Route]) -> dict[str, list[str]]:
    """Every owner the programme names, with the queues they serve."""
    found: dict[str, list[str]] = {}
    for route in routes:
        for owner in route.owners:
            queues = found.setdefault(owner, [])
            if route.queue not in queues:
                queues.append(route.queue)
    return found


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
) -> dict[str, Any]:
    """Put the person in ``route``'s queue with the next available owner; record and announce it."""
    owner = None
    if route.owners:
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
    routes = site.programme.routes
    if not entered or not any(STAGE_RANK[person.stage] >= STAGE_RANK[route.stage] for route in routes):
        return
    if await q.active_assignments([person.id]):
        return
    route = choose_route(routes, await lead_view(q, site, person, now))
    if route is not None:
        await assign(q, site.id, person.id, route, reason=f"stage:{person.stage}", actor=SYSTEM, now=now)


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


# ---------------------------------------------------------------------------
# Compiling


def compile_routes(raw: Any, scoring: Scoring) -> tuple[Route, ...]:
    """Compile the ``routes`` array of a parsed programme; raises GridError naming the key."""
    return compile_array(raw, "routes", lambda index, item: _compile_route(index, item, scoring))


def _compile_route(index: int, raw: Any, scoring: Scoring) -> Route:
    table = expect_table(raw, f"routes[{index}]")
    route_id = table.get("id")
    if not isinstance(route_id, str) or not _NAME.fullmatch(route_id):
        raise GridError(f"routes[{index}].id", "every route needs an id: up to 100 letters, digits, '-', '_', '.'")
    where = f"routes[{route_id}]"
    reject_unknown(table, _ROUTE_KEYS, where)
    queue = _name(table.get("queue"), f"{where}.queue")
    owners = table.get("owners", [])
    if not isinstance(owners, list):
        raise GridError(f"{where}.owners", "expected a list of owner names")
    names = tuple(_name(owner, f"{where}.owners") for owner in owners)
    if len(set(names)) != len(names):
        raise GridError(f"{where}.owners", "an owner is listed twice")
    stage = table.get("stage", DEFAULT_STAGE)
    if stage not in ROUTE_STAGES:
        raise GridError(f"{where}.stage", f"expected one of {', '.join(ROUTE_STAGES)}, got {stage!r}")
    when = expect_table(table.get("when", {}), f"{where}.when")
    reject_unknown(when, _WHEN_KEYS, f"{where}.when")
    checks = tuple(_compile_check(key, value, scoring, f"{where}.when.{key}") for key, value in when.items())
    return Route(route_id, queue, names, stage, checks, needs_events="event" in when)


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise GridError(where, f"expected a name of up to 100 letters, digits, '-', '_', '.' or '@', got {value!r}")
    return value


def _compile_check(key: str, spec: Any, scoring: Scoring, where: str) -> Check:
    scores = scoring.scores.keys()
    if key == "scores":
        parts = _patterns(spec, where)
        for name, _ in parts:
            _score_name(name, scores, f"{where}.{name}")
        return lambda lead: all(match(lead.scores.get(name, 0.0)) for name, match in parts)
    if key == "profile":
        fields = _patterns(spec, where)
        return lambda lead: all(match(lead.profile.get(name)) for name, match in fields)
    if key == "interest":
        return _compile_interest(spec, scores, where)
    if key == "event":
        matches, _ = compile_when(spec, where)
        return lambda lead: any(matches(event) for event in lead.events)
    try:
        condition = compile_condition(spec, scores)
    except ExprError as exc:
        raise GridError(where, str(exc)) from None
    return lambda lead: condition(lead.scores)


def _patterns(spec: Any, where: str) -> list[tuple[str, Matcher]]:
    table = expect_table(spec, where)
    if not table:
        raise GridError(where, "needs at least one entry")
    return [(name, compile_pattern(compile_value, value, f"{where}.{name}")) for name, value in table.items()]


def _score_name(name: Any, scores: Collection[str], where: str) -> str:
    if not isinstance(name, str) or name not in scores:
        raise GridError(where, f"unknown score {name!r} (declared: {', '.join(scores) or 'none'})")
    return name


def _compile_interest(spec: Any, scores: Collection[str], where: str) -> Check:
    """``{ leads = "medical", over = ["general"] }``: that score is strictly above each of the others."""
    table = expect_table(spec, where)
    reject_unknown(table, _INTEREST_KEYS, where)
    leads = _score_name(table.get("leads"), scores, f"{where}.leads")
    over = table.get("over")
    if not isinstance(over, list) or not over:
        raise GridError(f"{where}.over", "expected a list of score names")
    others = [_score_name(name, scores, f"{where}.over") for name in over]
    if leads in others:
        raise GridError(f"{where}.over", f"{leads!r} cannot lead itself")
    return lambda lead: all(lead.scores.get(leads, 0.0) > lead.scores.get(name, 0.0) for name in others)
