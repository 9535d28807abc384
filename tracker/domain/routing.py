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
from typing import Any

from tracker.domain.facts import STAGE_RANK, Event
from tracker.domain.programme.checks import ProgrammeError, compile_array, compile_pattern, expect_table, reject_unknown
from tracker.domain.programme.expr import ExprError, compile_condition
from tracker.domain.programme.grade import Grade, compile_grade_check
from tracker.domain.programme.patterns import Matcher, compile_value
from tracker.domain.programme.when import compile_when
from tracker.domain.scoring import Scoring

# Routing hands a lead to sales: an anonymous visitor is nobody's lead yet.
ROUTE_STAGES: tuple[str, ...] = ("known", "mql", "sql")
DEFAULT_STAGE = "sql"
# Route ids, queues and owners end up in URLs, CSV columns and CRM fields.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}")
_ROUTE_KEYS = frozenset({"id", "queue", "owners", "stage", "when"})
_WHEN_KEYS = frozenset({"scores", "interest", "profile", "event", "condition", "grade"})
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


# A lead whose account (company) has an owner goes to that owner: in the queue its route names, else in
# this one, from the moment it is known — the account's owner deals with everyone at the company.
ACCOUNT_ROUTE_ID = "account-owner"
ACCOUNT_QUEUE = "accounts"


def account_route(owner: str) -> Route:
    return Route(id=ACCOUNT_ROUTE_ID, queue=ACCOUNT_QUEUE, owners=(owner,), stage="known", checks=())


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
# Compiling


def compile_routes(raw: Any, scoring: Scoring, grade: Grade | None = None) -> tuple[Route, ...]:
    """Compile the ``routes`` array of a parsed programme; raises ProgrammeError naming the key."""
    return compile_array(raw, "routes", lambda index, item: _compile_route(index, item, scoring, grade))


def _compile_route(index: int, raw: Any, scoring: Scoring, grade: Grade | None) -> Route:
    table = expect_table(raw, f"routes[{index}]")
    route_id = table.get("id")
    if not isinstance(route_id, str) or not _NAME.fullmatch(route_id):
        raise ProgrammeError(f"routes[{index}].id", "every route needs an id: up to 100 letters, digits, '-', '_', '.'")
    where = f"routes[{route_id}]"
    reject_unknown(table, _ROUTE_KEYS, where)
    queue = _name(table.get("queue"), f"{where}.queue")
    owners = table.get("owners", [])
    if not isinstance(owners, list):
        raise ProgrammeError(f"{where}.owners", "expected a list of owner names")
    names = tuple(_name(owner, f"{where}.owners") for owner in owners)
    if len(set(names)) != len(names):
        raise ProgrammeError(f"{where}.owners", "an owner is listed twice")
    stage = table.get("stage", DEFAULT_STAGE)
    if stage not in ROUTE_STAGES:
        raise ProgrammeError(f"{where}.stage", f"expected one of {', '.join(ROUTE_STAGES)}, got {stage!r}")
    when = expect_table(table.get("when", {}), f"{where}.when")
    reject_unknown(when, _WHEN_KEYS, f"{where}.when")
    checks = tuple(_compile_check(key, value, scoring, grade, f"{where}.when.{key}") for key, value in when.items())
    return Route(route_id, queue, names, stage, checks, needs_events="event" in when)


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ProgrammeError(
            where, f"expected a name of up to 100 letters, digits, '-', '_', '.' or '@', got {value!r}"
        )
    return value


def _compile_check(key: str, spec: Any, scoring: Scoring, grade: Grade | None, where: str) -> Check:
    scores = scoring.scores.keys()
    if key == "grade":
        is_graded = compile_grade_check(spec, grade, where)
        return lambda lead: is_graded(lead.scores)
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
        raise ProgrammeError(where, str(exc)) from None
    return lambda lead: condition(lead.scores)


def _patterns(spec: Any, where: str) -> list[tuple[str, Matcher]]:
    table = expect_table(spec, where)
    if not table:
        raise ProgrammeError(where, "needs at least one entry")
    return [(name, compile_pattern(compile_value, value, f"{where}.{name}")) for name, value in table.items()]


def _score_name(name: Any, scores: Collection[str], where: str) -> str:
    if not isinstance(name, str) or name not in scores:
        raise ProgrammeError(where, f"unknown score {name!r} (declared: {', '.join(scores) or 'none'})")
    return name


def _compile_interest(spec: Any, scores: Collection[str], where: str) -> Check:
    """``{ leads = "medical", over = ["general"] }``: that score is strictly above each of the others."""
    table = expect_table(spec, where)
    reject_unknown(table, _INTEREST_KEYS, where)
    leads = _score_name(table.get("leads"), scores, f"{where}.leads")
    over = table.get("over")
    if not isinstance(over, list) or not over:
        raise ProgrammeError(f"{where}.over", "expected a list of score names")
    others = [_score_name(name, scores, f"{where}.over") for name in over]
    if leads in others:
        raise ProgrammeError(f"{where}.over", f"{leads!r} cannot lead itself")
    return lambda lead: all(lead.scores.get(leads, 0.0) > lead.scores.get(name, 0.0) for name in others)
