"""The programme's ``[accounts]`` section: how customer accounts (companies) are scored and staged.

Account managers score accounts, not people (seed 002: renewal dates, usage, support history)::

    [accounts]
    company_field = "company"                 # the form field naming a company (the default)

    [accounts.scores.potential]
    members = "sum"                           # sum | max | "top 3": of the members' scores
    of = "engagement"                         # which member score (default: the same name)
    thresholds = [30, 60]                     # account.score_crossed when reached

    [[accounts.rules]]
    id = "big-company"
    score = "potential"
    trait = { size = ">= 500" }               # account traits (from Segment group calls)
    points = 20

    [[accounts.rules]]
    id = "usage"
    score = "health"
    event = { type = "report run" }           # members' events, rule ``when`` syntax: points per event
    within = "30d"
    points = 1

    [accounts.stages]
    renewal_due = { days = 60 }               # trait renewal_date within 60 days
    upsell = { score = "potential", min = 80 }
    cross_sell = { score = "health", min = 20 }
    at_risk = { usage = { type = "report run" }, window = "30d", drop = 50 }

Compiling is all-or-nothing like the rest of the programme: a ``ProgrammeError`` names the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from tracker.domain.facts import Event
from tracker.domain.programme.checks import (
    ProgrammeError,
    compile_array,
    compile_pattern,
    expect_number,
    expect_table,
    parse_duration,
    reject_unknown,
)
from tracker.domain.programme.patterns import Matcher, compile_value
from tracker.domain.programme.when import compile_when
from tracker.domain.scoring import Scoring

# The order stages are listed in, on the console and in the API.
ACCOUNT_STAGES: tuple[str, ...] = ("renewal_due", "upsell", "cross_sell", "at_risk")
DEFAULT_COMPANY_FIELD = "company"
RENEWAL_TRAIT = "renewal_date"
_KEYS = frozenset({"company_field", "scores", "rules", "stages"})
_SCORE_KEYS = frozenset({"members", "of", "thresholds"})
_RULE_KEYS = frozenset({"id", "score", "trait", "event", "within", "points", "description"})
_STAGE_KEYS: Mapping[str, frozenset[str]] = {
    "renewal_due": frozenset({"days"}),
    "upsell": frozenset({"score", "min"}),
    "cross_sell": frozenset({"score", "min"}),
    "at_risk": frozenset({"usage", "window", "drop"}),
}
_TOP = re.compile(r"\s*top\s+(\d+)\s*")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
MAX_TOP = 1000


@dataclass(frozen=True, slots=True)
class AccountScore:
    name: str
    # How the members' ``of`` score adds up: "sum", "max" or "top" (sum of the ``top`` best); None: rules only.
    members: str | None
    of: str | None
    top: int = 0
    thresholds: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class AccountRule:
    id: str
    score: str
    points: float
    trait: Callable[[Mapping[str, Any]], bool] | None = None
    event: Callable[[Event], bool] | None = None
    # Events older than this no longer count (a rule on events always has a window).
    within: float = 0.0
    # The event types ``event`` can match (None: any), so only those are read.
    types: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class PointsStage:
    """``upsell`` / ``cross_sell``: an account score at or above ``min``."""

    score: str
    min: float


@dataclass(frozen=True, slots=True)
class RiskStage:
    """``at_risk``: usage events in the last ``window`` fell by ``drop`` percent or more from the window before."""

    usage: Callable[[Event], bool]
    window: float
    drop: float
    types: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class AccountsProgramme:
    company_field: str = DEFAULT_COMPANY_FIELD
    scores: Mapping[str, AccountScore] = field(default_factory=dict)
    rules: tuple[AccountRule, ...] = ()
    renewal_days: float | None = None
    upsell: PointsStage | None = None
    cross_sell: PointsStage | None = None
    at_risk: RiskStage | None = None

    @property
    def primary_score(self) -> str | None:
        """The score accounts are listed by: the first declared."""
        return next(iter(self.scores), None)

    @property
    def history(self) -> float:
        """How far back members' events matter to any rule or stage (seconds)."""
        windows = [rule.within for rule in self.rules if rule.event is not None]
        if self.at_risk is not None:
            windows.append(2 * self.at_risk.window)
        return max(windows, default=0.0)

    @property
    def history_types(self) -> frozenset[str] | None:
        """The event types any rule or stage counts (None: any type)."""
        found: set[str] = set()
        for rule in self.rules:
            if rule.event is not None:
                if rule.types is None:
                    return None
                found |= rule.types
        if self.at_risk is not None:
            if self.at_risk.types is None:
                return None
            found |= self.at_risk.types
        return frozenset(found)

    @property
    def member_scores(self) -> frozenset[str]:
        """The members' scores the account's aggregates add up."""
        return frozenset(score.of for score in self.scores.values() if score.of is not None)

    def counts(self, event: Event) -> bool:
        """Whether ``event`` counts for a rule or a stage of the account (then the account is recomputed)."""
        if any(rule.event is not None and rule.event(event) for rule in self.rules):
            return True
        return self.at_risk is not None and self.at_risk.usage(event)

    @property
    def stages(self) -> tuple[str, ...]:
        """The customer stages the programme declares, in ``ACCOUNT_STAGES`` order."""
        declared = (self.renewal_days, self.upsell, self.cross_sell, self.at_risk)
        return tuple(name for name, stage in zip(ACCOUNT_STAGES, declared, strict=True) if stage is not None)

    @property
    def declared(self) -> bool:
        """Anything to compute for an account: without it, accounts only gather their members."""
        # Asked on every event: spelled out rather than building ``stages``.
        stages = (self.renewal_days, self.upsell, self.cross_sell, self.at_risk)
        return bool(self.scores) or stages != (None, None, None, None)


NO_ACCOUNTS = AccountsProgramme()


def compile_accounts(raw: Any, scoring: Scoring) -> AccountsProgramme:
    if raw is None:
        return NO_ACCOUNTS
    table = expect_table(raw, "accounts")
    reject_unknown(table, _KEYS, "accounts")
    company_field = table.get("company_field", DEFAULT_COMPANY_FIELD)
    if not isinstance(company_field, str) or not _NAME.fullmatch(company_field):
        raise ProgrammeError("accounts.company_field", "expected the name of a form field")
    scores_table = expect_table(table.get("scores", {}), "accounts.scores")
    scores = {name: _compile_score(name, spec, scoring.scores.keys()) for name, spec in scores_table.items()}
    rules = compile_array(table.get("rules"), "accounts.rules", lambda i, r: _compile_rule(i, r, scores.keys()))
    stages = expect_table(table.get("stages", {}), "accounts.stages")
    reject_unknown(stages, frozenset(ACCOUNT_STAGES), "accounts.stages")
    for name, spec in stages.items():
        reject_unknown(expect_table(spec, f"accounts.stages.{name}"), _STAGE_KEYS[name], f"accounts.stages.{name}")
    return AccountsProgramme(
        company_field=company_field,
        scores=scores,
        rules=rules,
        renewal_days=_renewal_days(stages.get("renewal_due")),
        upsell=_points_stage(stages.get("upsell"), "upsell", scores.keys()),
        cross_sell=_points_stage(stages.get("cross_sell"), "cross_sell", scores.keys()),
        at_risk=_risk_stage(stages.get("at_risk")),
    )


def _compile_score(name: str, spec: Any, member_scores: Collection[str]) -> AccountScore:
    where = f"accounts.scores.{name}"
    if not _NAME.fullmatch(name):
        raise ProgrammeError(where, "a score name is letters, digits, '-', '_' or '.'")
    table = expect_table(spec, where)
    reject_unknown(table, _SCORE_KEYS, where)
    thresholds = table.get("thresholds", [])
    if not isinstance(thresholds, list):
        raise ProgrammeError(f"{where}.thresholds", "expected a list of numbers")
    levels = tuple(sorted(expect_number(value, f"{where}.thresholds") for value in thresholds))
    if "members" not in table:
        if "of" in table:
            raise ProgrammeError(f"{where}.of", "'of' names the members' score to add up: set 'members' too")
        return AccountScore(name, None, None, thresholds=levels)
    aggregate, top = _aggregate(table["members"], f"{where}.members")
    of = table.get("of", name)
    if not isinstance(of, str) or of not in member_scores:
        raise ProgrammeError(
            f"{where}.of", f"unknown member score {of!r} (declared: {', '.join(member_scores) or 'none'})"
        )
    return AccountScore(name, aggregate, of, top, levels)


def _aggregate(spec: Any, where: str) -> tuple[str, int]:
    if spec in ("sum", "max"):
        return str(spec), 0
    match = _TOP.fullmatch(spec) if isinstance(spec, str) else None
    if match is None or not 1 <= int(match.group(1)) <= MAX_TOP:
        raise ProgrammeError(where, f"expected 'sum', 'max' or 'top N' (N from 1 to {MAX_TOP}), got {spec!r}")
    return "top", int(match.group(1))


def _compile_rule(index: int, raw: Any, scores: Collection[str]) -> AccountRule:
    table = expect_table(raw, f"accounts.rules[{index}]")
    rule_id = table.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise ProgrammeError(f"accounts.rules[{index}]", "every rule needs an id (a non-empty string)")
    where = f"accounts.rules[{rule_id}]"
    reject_unknown(table, _RULE_KEYS, where)
    score = _score(table.get("score"), scores, f"{where}.score")
    points = expect_number(table.get("points"), f"{where}.points")
    if ("trait" in table) == ("event" in table):
        raise ProgrammeError(where, "a rule needs exactly one of 'trait' (account traits) or 'event' (members' events)")
    if "trait" in table:
        if "within" in table:
            raise ProgrammeError(f"{where}.within", "only a rule on events has a window")
        return AccountRule(rule_id, score, points, trait=_traits(table["trait"], f"{where}.trait"))
    if "within" not in table:
        raise ProgrammeError(f"{where}.within", "a rule on events needs a window, e.g. '30d'")
    matches, types = compile_when(table["event"], f"{where}.event")
    within = parse_duration(table["within"], f"{where}.within")
    return AccountRule(rule_id, score, points, event=matches, within=within, types=types)


def _traits(spec: Any, where: str) -> Callable[[Mapping[str, Any]], bool]:
    table = expect_table(spec, where)
    if not table:
        raise ProgrammeError(where, "needs at least one trait")
    parts: list[tuple[str, Matcher]] = [
        (name, compile_pattern(compile_value, value, f"{where}.{name}")) for name, value in table.items()
    ]
    return lambda traits: all(name in traits and match(traits[name]) for name, match in parts)


def _renewal_days(spec: Any) -> float | None:
    if spec is None:
        return None
    days = expect_number(spec.get("days"), "accounts.stages.renewal_due.days")
    if days <= 0:
        raise ProgrammeError("accounts.stages.renewal_due.days", "must be above zero")
    return days


def _points_stage(spec: Any, stage: str, scores: Collection[str]) -> PointsStage | None:
    if spec is None:
        return None
    where = f"accounts.stages.{stage}"
    return PointsStage(
        _score(spec.get("score"), scores, f"{where}.score"), expect_number(spec.get("min"), f"{where}.min")
    )


def _risk_stage(spec: Any) -> RiskStage | None:
    if spec is None:
        return None
    where = "accounts.stages.at_risk"
    if "usage" not in spec:
        raise ProgrammeError(f"{where}.usage", "missing: the usage events, rule 'when' syntax")
    usage, types = compile_when(spec["usage"], f"{where}.usage")
    drop = expect_number(spec.get("drop"), f"{where}.drop")
    if not 0 < drop <= 100:
        raise ProgrammeError(f"{where}.drop", "a percentage above 0 and at most 100")
    return RiskStage(usage, parse_duration(spec.get("window"), f"{where}.window"), drop, types)


def _score(name: Any, scores: Collection[str], where: str) -> str:
    if not isinstance(name, str) or name not in scores:
        raise ProgrammeError(where, f"unknown account score {name!r} (declared: {', '.join(scores) or 'none'})")
    return name
