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
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from tracker.domain.facts import (
    EMAIL_EVENTS,
    OUTCOME_EVENT,
    RULE_EVENT_TYPES,
    Crossing,
    Event,
    LedgerEntry,
    ScoreState,
)
from tracker.domain.outcomes import KINDS as OUTCOME_KINDS
from tracker.domain.programme.checks import (
    ProgrammeError,
    expect_number,
    expect_table,
    parse_duration,
    reject_unknown,
)
from tracker.domain.programme.email import unscored
from tracker.domain.programme.points import Limit, compile_limit, compile_points
from tracker.domain.programme.when import compile_when_parts
from tracker.domain.values import value

# Ascending: ScoreState.reached keeps the highest level a score ever reached.
LEVELS: tuple[str, ...] = ("mql", "sql")
# Pages remembered per programme by ``Scoring.offered``; a site with more starts over.
MAX_OFFERS = 20_000
# Decay rows in the ledger use this rule id, so no rule may take it.
DECAY_RULE_ID = "decay"
# A score's ``on_outcome`` entries score outcome events as rules with these ids ("outcome:lost"),
# so no rule of the marketers may start with it.
OUTCOME_RULE_PREFIX = "outcome:"
# The ledger's op when a score's ``max`` clipped a rule: ``points`` is what was actually applied.
CAPPED_OP = "cap"
_SCORE_KEYS = frozenset({"mql", "sql", "decay", "max", "on_outcome"})
_DECAY_KEYS = frozenset({"after", "percent"})
_RULE_KEYS = frozenset({"id", "score", "when", "points", "limit", "description"})


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
    # HubSpot's score limit: rules never take the stored value above it (the ledger says "cap").
    max: float | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    score: str
    op: str  # "add" (negative points subtract) or "set"
    points: float
    limit: Limit
    matches: Callable[[Event], bool]
    # ``matches`` split for scoring (``Scoring.offered``): the conditions on the event's URL,
    # answered once per page and event type, and the rest (None: nothing more to check).
    matches_url: Callable[[str], bool] | None
    matches_rest: Callable[[Event], bool] | None
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
    score_flagged: bool = False  # the programme's [email] option (see ``programme.email``)
    # (event type, URL) -> the candidates whose URL conditions hold: a site has few pages, so
    # most events find their answer here (a cache: the same answer as computing it again).
    _offers: dict[tuple[str, str], tuple[Rule, ...]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def unscored_types(self) -> frozenset[str]:
        """The event types no rule can score: a replay gives the same result without their events."""
        return frozenset(kind for kind, rules in self.by_type.items() if not rules)

    def candidates(self, event_type: str) -> tuple[Rule, ...]:
        """The rules, in programme order, that may match an event of this type."""
        return self.by_type.get(event_type, self.rules)

    def offered(self, event: Event) -> tuple[Rule, ...]:
        """The candidates for ``event`` whose URL conditions hold; their ``matches_rest`` decides."""
        key = (event.type, event.url)
        found = self._offers.get(key)
        if found is None:
            url = event.url
            found = tuple(r for r in self.candidates(event.type) if r.matches_url is None or r.matches_url(url))
            if len(self._offers) >= MAX_OFFERS:
                self._offers.clear()
            self._offers[key] = found
        return found


@value
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
    raw_scores = expect_table(doc.get("scores", {}), "scores")
    scores = {name: _compile_score(name, expect_table(spec, f"scores.{name}")) for name, spec in raw_scores.items()}
    rules = doc.get("rules", [])
    if not isinstance(rules, list):
        raise ProgrammeError("rules", "expected an array of tables ([[rules]])")
    compiled: list[Rule] = []
    for index, raw in enumerate(rules):
        compiled.append(_compile_rule(index, raw, tokens, scores, {rule.id for rule in compiled}))
    by_type = {
        kind: tuple(rule for rule in compiled if rule.types is None or kind in rule.types) for kind in RULE_EVENT_TYPES
    }
    # What sales records about a lead is in its timeline and scores only through a score's ``on_outcome``.
    by_type[OUTCOME_EVENT] = tuple(
        rule for name, spec in raw_scores.items() for rule in _compile_on_outcome(name, spec, tokens)
    )
    return Scoring(MappingProxyType(tokens), MappingProxyType(scores), tuple(compiled), MappingProxyType(by_type))


def _compile_score(name: str, table: Mapping[str, Any]) -> ScoreDef:
    where = f"scores.{name}"
    reject_unknown(table, _SCORE_KEYS, where)
    mql = expect_number(table["mql"], f"{where}.mql") if "mql" in table else None
    sql = expect_number(table["sql"], f"{where}.sql") if "sql" in table else None
    if mql is not None and sql is not None and mql > sql:
        raise ProgrammeError(f"{where}.sql", f"the sales threshold ({sql:g}) is below the marketing one ({mql:g})")
    decay = _compile_decay(table["decay"], f"{where}.decay") if "decay" in table else None
    cap = expect_number(table["max"], f"{where}.max") if "max" in table else None
    highest = max((t for t in (mql, sql) if t is not None), default=None)
    if cap is not None and highest is not None and cap < highest:
        raise ProgrammeError(f"{where}.max", f"below the threshold {highest:g}, which could then never be reached")
    return ScoreDef(name=name, mql=mql, sql=sql, decay=decay, max=cap)


def _compile_on_outcome(name: str, table: Mapping[str, Any], tokens: Mapping[str, float]) -> list[Rule]:
    """``on_outcome = { lost = "=0" }``: a rule per outcome kind, scoring the outcome event of that kind."""
    where = f"scores.{name}.on_outcome"
    rules: list[Rule] = []
    for kind, points in expect_table(table.get("on_outcome", {}), where).items():
        if kind not in OUTCOME_KINDS:
            raise ProgrammeError(f"{where}.{kind}", f"unknown outcome (expected one of {', '.join(OUTCOME_KINDS)})")
        op, value = compile_points(points, tokens, f"{where}.{kind}")
        rules.append(
            Rule(
                id=OUTCOME_RULE_PREFIX + kind,
                score=name,
                op=op,
                points=value,
                limit=Limit(count=None, window=None),
                matches=_outcome_named(kind),
                matches_url=None,
                matches_rest=_outcome_named(kind),
                types=frozenset({OUTCOME_EVENT}),
            )
        )
    return rules


def _outcome_named(kind: str) -> Callable[[Event], bool]:
    return lambda event: event.name == kind


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
    if rule_id.startswith(OUTCOME_RULE_PREFIX):
        raise ProgrammeError(f"{where}.id", f"{OUTCOME_RULE_PREFIX!r} starts the ledger rows of scores' on_outcome")
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
    op, points = compile_points(table["points"], tokens, f"{where}.points")
    limit = compile_limit(table.get("limit", "once"), f"{where}.limit")
    when = compile_when_parts(table["when"], f"{where}.when")
    description = table.get("description", "")
    if not isinstance(description, str):
        raise ProgrammeError(f"{where}.description", "expected text")
    return Rule(
        id=rule_id,
        score=score,
        op=op,
        points=points,
        limit=limit,
        matches=when.matches(),
        matches_url=when.url,
        matches_rest=when.rest(),
        types=when.candidates,
        description=description.strip(),
    )


# ---------------------------------------------------------------------------
# Applying events


def apply_event(scoring: Scoring, state: ScoreState, event: Event) -> ScoringResult:
    """Score one event; ``state`` is left untouched, the result holds the new state.

    An event that changes nothing (no rule for it, or none that applies) gives ``state`` itself
    back: every change writes a ledger row, so an empty ledger means the same state, and a
    person whose state is the one stored needs it neither copied nor written again (a returning
    visitor's page views mostly score nothing).
    """
    if not scoring.offered(event):
        return ScoringResult(state, [], [])
    result = ScoringResult(state.copy(), [], [])
    _fold(scoring, result, (event,))
    return result if result.ledger else ScoringResult(state, [], [])


# (ts, id): the order events happened in, ties in the order they were stored.
_REPLAY_ORDER = operator.attrgetter("ts", "id")


def replay(scoring: Scoring, events: Iterable[Event]) -> ScoringResult:
    """Score a whole history from scratch, in (ts, id) order."""
    result = ScoringResult(ScoreState(), [], [])
    _fold(scoring, result, sorted(events, key=_REPLAY_ORDER))
    return result


def current_scores(scoring: Scoring, state: ScoreState, now: float) -> dict[str, float]:
    """Every declared score at ``now`` (decayed), 0 for scores never scored."""
    values, last = state.values, state.last
    # A score never scored is 0 whatever its decay: most people have few of the declared scores,
    # and a what-if asks this twice for each of a site's people.
    return {
        name: decayed(score, values[name], last.get(name), now) if name in values else 0.0
        for name, score in scoring.scores.items()
    }


def threshold_level(state: ScoreState) -> str | None:
    """The highest level any score ever reached: "sql", "mql" or None."""
    ranks = [LEVELS.index(level) for level in state.reached.values() if level in LEVELS]
    return LEVELS[max(ranks)] if ranks else None


def _fold(scoring: Scoring, result: ScoringResult, events: Iterable[Event]) -> None:
    """Apply every matching rule, in programme order, to ``result`` in place, event after event.

    This loop runs for every event of every replay (a merge, a what-if, a rescore): what it reads
    each time is bound once here, and the calls that mostly answer "nothing to do" are asked only
    when they may not.
    """
    state = result.state
    values, last, hits_of = state.values, state.last, state.hits
    ledger = result.ledger
    scores, offers, flagged = scoring.scores, scoring._offers, scoring.score_flagged
    for event in events:
        # ``Scoring.offered``, its answer read from its cache first.
        offered = offers.get((event.type, event.url))
        if offered is None:
            offered = scoring.offered(event)
        if not offered or (event.type in EMAIL_EVENTS and unscored(event, flagged)):
            continue
        ts = event.ts
        for rule in offered:
            if rule.matches_rest is not None and not rule.matches_rest(event):
                continue
            count = rule.limit.count
            if count is not None:
                hits = hits_of.get(rule.id)
                # Every cap allows one hit at least (``compile_limit``): only a rule that hit already is checked.
                if hits and not _allowed(count, rule.limit.window, hits, ts):
                    continue
            name = rule.score
            score = scores[name]
            if score.decay is not None and name in values:
                _materialise_decay(score, state, ts, ledger)
            before = values.get(name, 0.0)
            # round() inline rather than _round(): this line runs for every point a replay gives.
            after = round(rule.points if rule.op == "set" else before + rule.points, 2) + 0.0
            op = rule.op
            if score.max is not None and after > score.max:
                after, op = score.max, CAPPED_OP
            values[name] = after
            # An event that arrives late must not move the decay clock backwards.
            if ts > last.get(name, -math.inf):
                last[name] = ts
            # Points are the change, whatever the op, so summing a score's ledger gives its value.
            change = round(after - before, 2) + 0.0
            ledger.append(LedgerEntry(name, rule.id, event.id, op, change, before, after, ts))
            if count is not None:
                _remember_hit(hits_of, rule.id, count, ts)
            # A level can only be newly reached at or above the lowest threshold (mql <= sql).
            lowest = score.mql if score.mql is not None else score.sql
            if lowest is not None and after >= lowest and state.reached.get(name) != LEVELS[-1]:
                result.crossings.extend(_cross(score, state, after, event))


def _allowed(count: int, window: float | None, hits: Sequence[float], ts: float) -> bool:
    """Whether a rule capped at ``count`` hits (ever, or within ``window`` seconds) may hit again."""
    if window is None:
        return len(hits) < count
    return sum(1 for hit in hits if ts - hit < window) < count


def _remember_hit(hits_of: dict[str, list[float]], rule_id: str, count: int, ts: float) -> None:
    hits = hits_of.setdefault(rule_id, [])
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
