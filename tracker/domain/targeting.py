"""Campaign targeting: every key of ``[campaigns.when]`` becomes one check on the person and the visit.

Compiled once with the programme; on every beacon call ``Campaign.targets`` runs the checks of
each campaign (all must hold).  Shared with audience counts (``audience``), which ask how many
people a targeting would reach.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tracker.domain.facts import STAGE_RANK, STAGES, CampaignMemory, VisitContext
from tracker.domain.programme.checks import ProgrammeError, compile_pattern, expect_table, reject_unknown
from tracker.domain.programme.expr import ExprError, compile_condition
from tracker.domain.programme.grade import Grade, compile_grade_check
from tracker.domain.programme.patterns import Matcher, compile_url, compile_value

DEVICES: tuple[str, ...] = ("desktop", "mobile", "tablet")
UTM_KEYS: tuple[str, ...] = ("source", "medium", "campaign", "term", "content")
# Variables a condition may use besides the score names.
CONDITION_VARIABLES = frozenset({"visits", "stage_rank", "returning", "stage"})
_WHEN_KEYS = frozenset(
    {"scores", "stage", "url", "referrer", "utm", "device", "returning", "visits", "condition", "grade"}
)


@dataclass(frozen=True, slots=True)
class PersonView:
    """What decisions may know about a person: stage, decayed scores, campaign memory."""

    stage: str
    scores: Mapping[str, float]
    campaigns: Mapping[str, CampaignMemory]


Check = Callable[[PersonView, VisitContext], bool]


def compile_targeting(spec: Any, names: frozenset[str], where: str, grade: Grade | None = None) -> tuple[Check, ...]:
    table = expect_table(spec, where)
    reject_unknown(table, _WHEN_KEYS, where)
    checks: list[Check] = []
    # Checks have no effects, so they run cheapest first: a campaign that does not target the
    # visitor is usually ruled out before a condition builds its variables.
    for key, value in sorted(table.items(), key=lambda item: _COST.get(item[0], 0)):
        at = f"{where}.{key}"
        if key == "scores":
            check = _compile_scores(value, names, at)
        elif key == "utm":
            check = _compile_utm(value, at)
        elif key == "condition":
            check = _compile_condition(value, names, at)
        elif key == "returning":
            check = _compile_returning(value, at)
        elif key == "grade":
            check = _compile_grade(value, grade, at)
        elif key in _CHOICES:
            choices, read = _CHOICES[key]
            check = _compile_choice(value, choices, read, at)
        else:
            compile_spec, read = _PATTERNS[key]
            check = _matching(compile_pattern(compile_spec, value, at), read)
        checks.append(check)
    return tuple(checks)


# Relative cost of a check (others: 0); a condition evaluates an expression over every score.
_COST = {"utm": 1, "scores": 1, "grade": 2, "condition": 3}


def _matching(match: Matcher, read: Callable[[PersonView, VisitContext], Any]) -> Check:
    return lambda person, ctx: match(read(person, ctx))


_PATTERNS: Mapping[str, tuple[Callable[[Any], Matcher], Callable[[PersonView, VisitContext], Any]]] = {
    "url": (compile_url, lambda person, ctx: ctx.url),
    "referrer": (compile_url, lambda person, ctx: ctx.referrer),
    "visits": (compile_value, lambda person, ctx: ctx.visits),
}
_CHOICES: Mapping[str, tuple[tuple[str, ...], Callable[[PersonView, VisitContext], str]]] = {
    "stage": (STAGES, lambda person, ctx: person.stage),
    "device": (DEVICES, lambda person, ctx: ctx.device),
}


def _compile_grade(spec: Any, grade: Grade | None, where: str) -> Check:
    is_graded = compile_grade_check(spec, grade, where)
    return lambda person, ctx: is_graded(person.scores)


def _compile_returning(spec: Any, where: str) -> Check:
    if not isinstance(spec, bool):
        raise ProgrammeError(where, "expected true (returning visitors) or false (new visitors)")
    return lambda person, ctx: ctx.returning is spec


def _compile_choice(
    spec: Any, choices: tuple[str, ...], read: Callable[[PersonView, VisitContext], str], where: str
) -> Check:
    wanted = spec if isinstance(spec, list) else [spec]
    if not wanted or any(item not in choices for item in wanted):
        raise ProgrammeError(where, f"expected one or a list of {', '.join(choices)}, got {spec!r}")
    allowed = frozenset(wanted)
    return lambda person, ctx: read(person, ctx) in allowed


def _compile_scores(spec: Any, names: frozenset[str], where: str) -> Check:
    table = expect_table(spec, where)
    if not table:
        raise ProgrammeError(where, "needs at least one score")
    parts: list[tuple[str, Matcher]] = []
    for name, value in table.items():
        if name not in names:
            raise ProgrammeError(
                f"{where}.{name}", f"unknown score {name!r} (declared: {', '.join(sorted(names)) or 'none'})"
            )
        parts.append((name, compile_pattern(compile_value, value, f"{where}.{name}")))
    return lambda person, ctx: all(match(person.scores.get(name, 0.0)) for name, match in parts)


def _compile_utm(spec: Any, where: str) -> Check:
    table = expect_table(spec, where)
    if not table:
        raise ProgrammeError(where, "needs at least one UTM parameter")
    parts: list[tuple[str, Matcher]] = []
    for key, value in table.items():
        if key not in UTM_KEYS:
            raise ProgrammeError(f"{where}.{key}", f"unknown UTM parameter (expected one of {', '.join(UTM_KEYS)})")
        parts.append((key, compile_pattern(compile_value, value, f"{where}.{key}")))
    return lambda person, ctx: all(match(ctx.utm.get(key)) for key, match in parts)


def _compile_condition(spec: Any, names: frozenset[str], where: str) -> Check:
    hidden = names & CONDITION_VARIABLES
    if hidden:
        raise ProgrammeError(where, f"score {min(hidden)!r} has the name of a built-in variable; rename the score")
    try:
        condition = compile_condition(spec, names | CONDITION_VARIABLES)
    except ExprError as exc:
        raise ProgrammeError(where, str(exc)) from None

    def check(person: PersonView, ctx: VisitContext) -> bool:
        env: dict[str, Any] = {name: person.scores.get(name, 0.0) for name in names}
        env.update(
            visits=ctx.visits,
            stage_rank=STAGE_RANK.get(person.stage, 0),
            returning=ctx.returning,
            stage=person.stage,
        )
        return condition(env)

    return check
