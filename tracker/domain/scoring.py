"""Lead scoring: compile the programme's tokens, scores and rules, then fold events into a ScoreState.

The marketers' grid (see ``examples/seed-programme.toml``) is compiled once into plain
closures; applying an event is then a loop over rules with no parsing and no I/O.
Everything here is pure: time comes from the event (or the ``now`` argument), so a
replay of the same events always yields the same state, ledger and crossings.

Decay is lazy: the stored value only changes when a rule scores that score again;
readers call ``current_scores`` to see the decayed value at a given time.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from tracker.domain.facts import EVENT_TYPES, OUTCOME_EVENT, Crossing, Event, LedgerEntry, ScoreState
from tracker.domain.programme.checks import (
    ProgrammeError,
    compile_pattern,
    expect_number,
    expect_table,
    parse_duration,
    reject_unknown,
)
from tracker.domain.programme.patterns import (
    Matcher,
    PatternError,
    as_number,
    compile_url,
    compile_url_regex,
    compile_value,
)

# Ascending: ScoreState.reached keeps the highest level a score ever reached.
LEVELS: tuple[str, ...] = ("mql", "sql")
# Decay rows in the ledger use this rule id, so no rule may take it.
DECAY_RULE_ID = "decay"
# A cap keeps one timestamp per allowed hit in the person's state; beyond this the
# state would grow large for no scoring benefit ("always" is the right choice then).
MAX_LIMIT_COUNT = 1000

_LIMIT = re.compile(r"\s*(\d+)\s*(?:/(.*))?")
_POINTS = re.compile(r"\s*([=+-]?)\s*(\S+)\s*")

_SCORE_KEYS = frozenset({"mql", "sql", "decay"})
_DECAY_KEYS = frozenset({"after", "percent"})
_RULE_KEYS = frozenset({"id", "score", "when", "points", "limit", "description"})
_WHEN_KEYS = frozenset({"type", "name", "form", "url", "url_regex", "referrer", "props", "fields", "engaged", "visit"})
# Conditions that only make sense for one event type; they imply that type.
_IMPLIED_TYPE: Mapping[str, str] = {"form": "form", "fields": "form", "engaged": "engaged"}


def _regex_spec(spec: Any) -> Matcher:
    if not isinstance(spec, str) or not spec:
        raise PatternError("a regular expression must be a non-empty string")
    return compile_url_regex(spec)


# Single-value conditions: how to compile the spec, and which part of the event it reads.
_FIELD_CONDITIONS: Mapping[str, tuple[Callable[[Any], Matcher], Callable[[Event], Any]]] = {
    "name": (compile_value, lambda e: e.name),
    "form": (compile_value, lambda e: e.name),
    "url": (compile_url, lambda e: e.url),
    "url_regex": (_regex_spec, lambda e: e.url),
    "referrer": (compile_url, lambda e: e.referrer),
    "engaged": (compile_value, lambda e: e.props.get("seconds")),
    "visit": (compile_value, lambda e: e.visit),
}


@dataclass(frozen=True, slots=True)
class Decay:
    after: float  # seconds without a scoring change of the score
    percent: float  # lost after each such period


@dataclass(frozen=True, slots=True)
class ScoreDef:
    name: str
    mql: float | None
    sql: float | None
    decay: Decay | None


@dataclass(frozen=True, slots=True)
class Limit:
    count: int | None  # None: always
    window: float | None  # None: ever; else a rolling window in seconds


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    score: str
    op: str  # "add" (negative points subtract) or "set"
    points: float
    limit: Limit
    matches: Callable[[Event], bool]
    # The event types this rule can match (None: any), so events only meet their candidates.
    types: frozenset[str] | None = None
    # How people read the rule (the lead page's ledger: "+12 Livre blanc C"); the id when empty.
    description: str = ""

    @property
    def label(self) -> str:
        return self.description or self.id


@dataclass(frozen=True, slots=True)
class Scoring:
    tokens: Mapping[str, float]
    scores: Mapping[str, ScoreDef]
    rules: tuple[Rule, ...]
    by_type: Mapping[str, tuple[Rule, ...]]

    def candidates(self, event_type: str) -> tuple[Rule, ...]:
        """The rules, in programme order, that may match an event of this type."""
        return self.by_type.get(event_type, self.rules)


@dataclass(frozen=True, slots=True)
class ScoringResult:
    state: ScoreState
    ledger: list[LedgerEntry]
    crossings: list[Crossing]


# ---------------------------------------------------------------------------
# Compiling the grid


def compile_scoring(doc: Mapping[str, Any]) -> Scoring:
    """Compile the scoring half of a parsed programme; other top-level keys are ignored."""
    tokens = {
        name: expect_number(value, f"tokens.{name}")
        for name, value in expect_table(doc.get("tokens", {}), "tokens").items()
    }
    scores = {
        name: _compile_score(name, expect_table(spec, f"scores.{name}"))
        for name, spec in expect_table(doc.get("scores", {}), "scores").items()
    }
    rules = doc.get("rules", [])
    if not isinstance(rules, list):
        raise ProgrammeError("rules", "expected an array of tables ([[rules]])")
    compiled: list[Rule] = []
    for index, raw in enumerate(rules):
        compiled.append(_compile_rule(index, raw, tokens, scores, {rule.id for rule in compiled}))
    by_type = {
        kind: tuple(rule for rule in compiled if rule.types is None or kind in rule.types) for kind in EVENT_TYPES
    }
    # What sales records about a lead is in its timeline but never scores it.
    by_type[OUTCOME_EVENT] = ()
    return Scoring(MappingProxyType(tokens), MappingProxyType(scores), tuple(compiled), MappingProxyType(by_type))


def _compile_score(name: str, table: Mapping[str, Any]) -> ScoreDef:
    where = f"scores.{name}"
    reject_unknown(table, _SCORE_KEYS, where)
    mql = expect_number(table["mql"], f"{where}.mql") if "mql" in table else None
    sql = expect_number(table["sql"], f"{where}.sql") if "sql" in table else None
    if mql is not None and sql is not None and mql > sql:
        raise ProgrammeError(f"{where}.sql", f"the sales threshold ({sql:g}) is below the marketing one ({mql:g})")
    decay = _compile_decay(table["decay"], f"{where}.decay") if "decay" in table else None
    return ScoreDef(name=name, mql=mql, sql=sql, decay=decay)


def _compile_decay(spec: Any, where: str) -> Decay:
    table = expect_table(spec, where)
    reject_unknown(table, _DECAY_KEYS, where)
    missing = sorted(_DECAY_KEYS - table.keys())
    if missing:
        raise ProgrammeError(f"{where}.{missing[0]}", "missing")
    percent = expect_number(table["percent"], f"{where}.percent")
    if not 0 < percent <= 100:
        raise ProgrammeError(f"{where}.percent", "must be above 0 and at most 100")
    return Decay(after=parse_duration(table["after"], f"{where}.after"), percent=percent)


def _compile_rule(
    index: int, raw: Any, tokens: Mapping[str, float], scores: Mapping[str, ScoreDef], taken: set[str]
) -> Rule:
    table = expect_table(raw, f"rules[{index}]")
    rule_id = table.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise ProgrammeError(f"rules[{index}]", "every rule needs an id (a non-empty string)")
    where = f"rules[{rule_id}]"
    if rule_id == DECAY_RULE_ID:
        raise ProgrammeError(f"{where}.id", f"{DECAY_RULE_ID!r} is reserved for decay rows in the ledger")
    # Checked first: a copied rule whose id was not changed is the likely mistake.
    if rule_id in taken:
        raise ProgrammeError(f"{where}.id", "duplicate rule id")
    reject_unknown(table, _RULE_KEYS, where)
    for key in ("score", "points", "when"):
        if key not in table:
            raise ProgrammeError(f"{where}.{key}", "missing")
    score = table["score"]
    if not isinstance(score, str) or score not in scores:
        declared = ", ".join(scores) or "none"
        raise ProgrammeError(f"{where}.score", f"unknown score {score!r} (declared: {declared})")
    op, points = _compile_points(table["points"], tokens, f"{where}.points")
    limit = _compile_limit(table.get("limit", "once"), f"{where}.limit")
    matches, types = compile_when(table["when"], f"{where}.when")
    description = table.get("description", "")
    if not isinstance(description, str):
        raise ProgrammeError(f"{where}.description", "expected text")
    return Rule(
        id=rule_id,
        score=score,
        op=op,
        points=points,
        limit=limit,
        matches=matches,
        types=types,
        description=description.strip(),
    )


def _compile_points(spec: Any, tokens: Mapping[str, float], where: str) -> tuple[str, float]:
    """``2``, ``"token"``, ``"+10"``, ``"-10"``, ``"-token"``, ``"=10"``, ``"=token"`` -> (op, points)."""
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return "add", expect_number(spec, where)
    match = _POINTS.fullmatch(spec) if isinstance(spec, str) else None
    if match is None:
        raise ProgrammeError(where, "expected a number, a token name, '+N', '-N', '=N' or '=token'")
    sign, operand = match.groups()
    value = as_number(operand)
    if value is None:
        if operand not in tokens:
            raise ProgrammeError(where, f"unknown token {operand!r}")
        value = tokens[operand]
    elif not math.isfinite(value):
        raise ProgrammeError(where, "points must be a finite number")
    if sign == "=":
        return "set", value
    return "add", -value if sign == "-" else value


def _compile_limit(spec: Any, where: str) -> Limit:
    """``"once"``, ``"always"``, ``"N"`` (ever) or ``"N/<duration>"`` (rolling window)."""
    if spec == "once":
        return Limit(count=1, window=None)
    if spec == "always":
        return Limit(count=None, window=None)
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = str(spec)
    match = _LIMIT.fullmatch(spec) if isinstance(spec, str) else None
    if match is None:
        raise ProgrammeError(where, "expected 'once', 'always', 'N' (at most N times) or 'N/<duration>' like '3/1d'")
    count = int(match.group(1))
    if not 1 <= count <= MAX_LIMIT_COUNT:
        raise ProgrammeError(where, f"the count must be between 1 and {MAX_LIMIT_COUNT} (or use 'always')")
    window = None if match.group(2) is None else parse_duration(match.group(2), where)
    return Limit(count=count, window=window)


def compile_when(spec: Any, where: str) -> tuple[Callable[[Event], bool], frozenset[str] | None]:
    """The rule's predicate, and the event types it can match (None: any)."""
    table = expect_table(spec, where)
    if not table:
        raise ProgrammeError(where, "needs at least one condition")
    reject_unknown(table, _WHEN_KEYS, where)
    checks: list[Callable[[Event], bool]] = []
    types = _compile_types(table, where)
    if types is not None:
        builtin, custom = types
        checks.append(lambda event: event.type in builtin or (event.type == "custom" and event.name in custom))
    for key, (compile_spec, read) in _FIELD_CONDITIONS.items():
        if key in table:
            checks.append(_field_check(compile_pattern(compile_spec, table[key], f"{where}.{key}"), read))
    for key in ("props", "fields"):
        if key in table:
            checks.append(_field_check(_compile_props(table[key], f"{where}.{key}"), _read_props))
    candidates = None if types is None else types[0] | ({"custom"} if types[1] else set())
    return _every(checks), candidates


def _every(checks: list[Callable[[Event], bool]]) -> Callable[[Event], bool]:
    """``all(check(e) for check in checks)`` as a chain of closures: no generator per event."""
    first = checks[0]
    if len(checks) == 1:
        return first
    rest = _every(checks[1:])
    return lambda event: first(event) and rest(event)


def _compile_types(table: Mapping[str, Any], where: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """The event-type condition, from ``type`` and from keys that imply a type: built-in types, custom names.

    A ``type`` that is not a built-in event type names a custom event: the beacon sends
    those as type "custom" with the name in ``event.name``.
    """
    implied = {key: _IMPLIED_TYPE[key] for key in table if key in _IMPLIED_TYPE}
    if len(set(implied.values())) > 1:
        raise ProgrammeError(where, f"{' and '.join(implied)} can never hold for the same event")
    if "type" not in table:
        if not implied:
            return None
        builtin, custom = frozenset(implied.values()), frozenset[str]()
    else:
        names = table["type"] if isinstance(table["type"], list) else [table["type"]]
        if not names or not all(isinstance(name, str) and name for name in names):
            raise ProgrammeError(f"{where}.type", "expected an event type or a list of event types")
        builtin = frozenset(name for name in names if name in EVENT_TYPES)
        custom = frozenset(name for name in names if name not in EVENT_TYPES)
        for key, implied_type in implied.items():
            if implied_type not in builtin:
                raise ProgrammeError(f"{where}.type", f"{key} only matches {implied_type!r} events")
    return builtin, custom


def _compile_props(spec: Any, where: str) -> Callable[[Mapping[str, Any]], bool]:
    table = expect_table(spec, where)
    if not table:
        raise ProgrammeError(where, "needs at least one property")
    parts = [
        (key, compile_pattern(compile_value, value, f"{where}.{key}"), _accepts_missing(value))
        for key, value in table.items()
    ]
    return lambda props: all(match(props[key]) if key in props else if_missing for key, match, if_missing in parts)


def _accepts_missing(spec: Any) -> bool:
    """A missing property matches nothing except a "!=" condition (it is indeed different)."""
    if isinstance(spec, list):
        return any(_accepts_missing(item) for item in spec)
    return isinstance(spec, str) and spec.lstrip().startswith("!=")


def _read_props(event: Event) -> Mapping[str, Any]:
    return event.props


def _field_check(match: Matcher, read: Callable[[Event], Any]) -> Callable[[Event], bool]:
    return lambda event: match(read(event))


# ---------------------------------------------------------------------------
# Applying events


def apply_event(scoring: Scoring, state: ScoreState, event: Event) -> ScoringResult:
    """Score one event; ``state`` is left untouched, the result holds the new state."""
    result = ScoringResult(state.copy(), [], [])
    _fold(scoring, result, event)
    return result


def replay(scoring: Scoring, events: Iterable[Event]) -> ScoringResult:
    """Score a whole history from scratch, in (ts, id) order."""
    result = ScoringResult(ScoreState(), [], [])
    for event in sorted(events, key=lambda e: (e.ts, e.id)):
        _fold(scoring, result, event)
    return result


def current_scores(scoring: Scoring, state: ScoreState, now: float) -> dict[str, float]:
    """Every declared score at ``now`` (decayed), 0 for scores never scored."""
    return {name: _value_at(score, state, now) for name, score in scoring.scores.items()}


def threshold_level(state: ScoreState) -> str | None:
    """The highest level any score ever reached: "sql", "mql" or None."""
    ranks = [LEVELS.index(level) for level in state.reached.values() if level in LEVELS]
    return LEVELS[max(ranks)] if ranks else None


def _fold(scoring: Scoring, result: ScoringResult, event: Event) -> None:
    """Apply every matching rule, in programme order, to ``result`` in place."""
    state = result.state
    for rule in scoring.candidates(event.type):
        if not rule.matches(event) or not _allowed(rule.limit, state.hits.get(rule.id, []), event.ts):
            continue
        score = scoring.scores[rule.score]
        _materialise_decay(score, state, event.ts, result.ledger)
        before = state.values.get(rule.score, 0.0)
        after = _round(rule.points if rule.op == "set" else before + rule.points)
        state.values[rule.score] = after
        # max(): an event that arrives late must not move the decay clock backwards.
        state.last[rule.score] = max(state.last.get(rule.score, event.ts), event.ts)
        # Points are the change, whatever the op, so summing a score's ledger gives its value.
        result.ledger.append(
            LedgerEntry(rule.score, rule.id, event.id, rule.op, _round(after - before), before, after, event.ts)
        )
        _remember_hit(rule, state, event.ts)
        result.crossings.extend(_cross(score, state, after, event))


def _allowed(limit: Limit, hits: list[float], ts: float) -> bool:
    if limit.count is None:
        return True
    if limit.window is None:
        return len(hits) < limit.count
    return sum(1 for hit in hits if ts - hit < limit.window) < limit.count


def _remember_hit(rule: Rule, state: ScoreState, ts: float) -> None:
    count = rule.limit.count
    if count is None:
        return
    hits = state.hits.setdefault(rule.id, [])
    bisect.insort(hits, ts)
    # The latest `count` hits are all a cap ever looks at, ever or rolling.
    del hits[:-count]


def _materialise_decay(score: ScoreDef, state: ScoreState, ts: float, ledger: list[LedgerEntry]) -> None:
    """Write pending decay into the stored value, with its own ledger row.

    The decay clock (``state.last``) is not touched: the rule applied right after moves it.
    """
    before = state.values.get(score.name)
    if before is None:
        return
    after = _value_at(score, state, ts)
    if after != before:
        state.values[score.name] = after
        ledger.append(LedgerEntry(score.name, DECAY_RULE_ID, None, "decay", _round(after - before), before, after, ts))


def _value_at(score: ScoreDef, state: ScoreState, ts: float) -> float:
    return decayed(score, state.values.get(score.name, 0.0), state.last.get(score.name), ts)


def decayed(score: ScoreDef, stored: float, last: float | None, ts: float) -> float:
    """A stored value at ``ts``, decayed from ``last``, when it last changed (``person_scores`` keeps both)."""
    if score.decay is None or last is None:
        return _round(stored)
    periods = max(0, math.floor((ts - last) / score.decay.after))
    return _round(stored * (1 - score.decay.percent / 100) ** periods)


def _cross(score: ScoreDef, state: ScoreState, value: float, event: Event) -> list[Crossing]:
    """Levels newly reached by ``value``, lowest first; records the highest in ``state.reached``."""
    reached = state.reached.get(score.name)
    first_new = LEVELS.index(reached) + 1 if reached in LEVELS else 0
    crossings: list[Crossing] = []
    for rank, (level, threshold) in enumerate(zip(LEVELS, (score.mql, score.sql), strict=True)):
        if rank >= first_new and threshold is not None and value >= threshold:
            state.reached[score.name] = level
            crossings.append(Crossing(score.name, level, event.id, event.ts))
    return crossings


def _round(value: float) -> float:
    # Two decimals stop float drift (12.999999 missing a threshold of 13); "+ 0.0" turns -0.0 into 0.0.
    return round(value, 2) + 0.0
