"""Behaviours before conversion: who did what within a window before their reference moment,
how much more often those who did it converted, and whether the programme's points agree.

A behaviour is a rule of the programme (it scored, per the ledger), a page pattern (the page's
folder: ``/blog/qualite/*``) or a download (the file's path).  Its lift is the conversion rate
of the leads who did it divided by that of the leads who did not, with its log-ratio interval:
"a datasheet download triples conversion" reads as a lift of 3.

Points are judged against lift on the programme's own exchange rate, per score: the median,
over the behaviours it rewards in that score that do lift conversion, of points per unit of
log-lift.  Points above
what even the top of the lift's interval would earn at that rate (with ``SLACK`` for a grid's
round numbers) look too high; points below what its bottom would earn look too low.  A
programme that rewards nothing that lifts has no rate, and only the sign is judged (points for
what converters do less, none for what they do more).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from tracker.domain.calibration.history import ActionRow, Lead, LedgerRow, PersonRow, reference_of
from tracker.domain.calibration.intervals import Interval, rate_ratio
from tracker.domain.facts import Event
from tracker.domain.scoring import DECAY_RULE_ID, Scoring

Kind = Literal["rule", "page", "download"]
KINDS: tuple[Kind, ...] = ("rule", "page", "download")
Flag = Literal["too_high", "too_low"]
# Page patterns and downloads done by fewer leads than this say nothing and only lengthen the table.
MIN_PEOPLE = 2
# At most this many page patterns and downloads each, the most done first.
MAX_PER_KIND = 50
# Points within this factor of what the lift's interval earns are in line: grids use round numbers.
SLACK = 1.25


@dataclass(frozen=True, slots=True)
class Behaviour:
    kind: Kind
    key: str  # rule id, page pattern or download path
    score: str | None  # the score its points go to (a rule's own; the chosen score otherwise)
    points: float | None  # what the programme gives it today (None: nothing it can say)
    converters: int  # converters who did it
    converters_total: int
    others: int  # non-converters who did it
    others_total: int
    lift: Interval | None
    suggested: float | None  # points at the programme's exchange rate
    flag: Flag | None

    @property
    def converters_share(self) -> float:
        return self.converters / self.converters_total if self.converters_total else 0.0

    @property
    def others_share(self) -> float:
        return self.others / self.others_total if self.others_total else 0.0


def page_pattern(url: str) -> str:
    """A page's folder as a pattern: ``https://x.fr/blog/qualite/post-1?a=b`` → ``/blog/qualite/*``."""
    path = urlsplit(url).path or "/"
    return path[: path.rfind("/") + 1] + "*"


def download_path(url: str) -> str:
    return urlsplit(url).path or url


@dataclass(frozen=True, slots=True)
class Done:
    """Who did each behaviour within the window, and a sample URL of each pattern or file."""

    people: Mapping[tuple[Kind, str], frozenset[int]]
    samples: Mapping[tuple[Kind, str], str]


def action_windows(
    people: Iterable[PersonRow], start: float, end: float, window: float
) -> list[tuple[int, float, float]]:
    """Each lead's window as (person, since, until), ``until`` excluded: the page views and downloads
    ``done_within`` counts, so that the store reads those and no others.

    A converter's window ends at its conversion, which it includes; everyone else's at the end of
    the period, which the period excludes.  Those who converted before the period are no lead.
    """
    windows: list[tuple[int, float, float]] = []
    for person in people:
        moment = reference_of(person.converted_at, start, end)
        if moment is not None:
            reference, converted = moment
            until = math.nextafter(reference, math.inf) if converted else reference
            windows.append((person.person_id, reference - window, until))
    return windows


def done_within(
    leads: Sequence[Lead], ledger: Iterable[LedgerRow], actions: Iterable[ActionRow], window: float
) -> Done:
    """Each behaviour's leads who did it within ``window`` seconds up to their reference moment."""
    reference = {lead.person_id: lead.reference for lead in leads}
    people: dict[tuple[Kind, str], set[int]] = {}
    urls: dict[tuple[Kind, str], Counter[str]] = {}
    # A report reads hundreds of thousands of rows and few distinct URLs and rules: each key is made once.
    rule_keys: dict[str, tuple[Kind, str]] = {}
    action_keys: dict[tuple[str, str], tuple[Kind, str]] = {}
    for row in ledger:
        moment = reference.get(row.person_id)
        if moment is None or not moment - window <= row.ts <= moment or row.rule_id == DECAY_RULE_ID:
            continue
        key = rule_keys.get(row.rule_id)
        if key is None:
            key = rule_keys[row.rule_id] = ("rule", row.rule_id)
            people[key] = set()
        people[key].add(row.person_id)
    for action in actions:
        moment = reference.get(action.person_id)
        if moment is None or not moment - window <= action.ts <= moment:
            continue
        key = action_keys.get((action.type, action.url))
        if key is None:
            key = action_keys[action.type, action.url] = _behaviour_of(action.type, action.url)
            people.setdefault(key, set())
            urls.setdefault(key, Counter())
        people[key].add(action.person_id)
        urls[key][action.url] += action.times
    return Done(
        {key: frozenset(ids) for key, ids in people.items()},
        {key: _most_common(counts) for key, counts in urls.items()},
    )


def _most_common(counts: Counter[str]) -> str:
    # Ties go to the first URL in alphabetical order, whatever order the rows came in.
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]


def _behaviour_of(kind: str, url: str) -> tuple[Kind, str]:
    return ("download", download_path(url)) if kind == "download" else ("page", page_pattern(url))


def behaviours(leads: Sequence[Lead], done: Done, scoring: Scoring, score: str) -> list[Behaviour]:
    """Every rule of the programme (and any other rule that scored in the window), then page
    patterns and downloads done by at least ``MIN_PEOPLE`` leads, each with its lift and flag."""
    converted = {lead.person_id for lead in leads if lead.converted}
    total, converters_total = len(leads), len(converted)
    rules = {rule.id: rule for rule in scoring.rules}
    keys: list[tuple[Kind, str]] = [("rule", rule_id) for rule_id in rules]
    keys += sorted(key for key in done.people if key[0] == "rule" and key[1] not in rules)
    for kind in ("page", "download"):
        found = [key for key, ids in done.people.items() if key[0] == kind and len(ids) >= MIN_PEOPLE]
        keys += sorted(found, key=lambda key: (-len(done.people[key]), key[1]))[:MAX_PER_KIND]
    rows: list[tuple[Kind, str, str | None, float | None, int, int, Interval | None]] = []
    for kind, key in keys:
        ids = done.people.get((kind, key), frozenset())
        did_convert = len(ids & converted)
        if kind == "rule":
            rule = rules.get(key)
            points = rule.points if rule is not None and rule.op == "add" else None
            own_score = rule.score if rule is not None else None
        else:
            points = _points_today(scoring, score, kind, done.samples[(kind, key)])
            own_score = score
        lift = rate_ratio(did_convert, len(ids), converters_total - did_convert, total - len(ids))
        rows.append((kind, key, own_score, points, did_convert, len(ids) - did_convert, lift))
    # Points of different scores are different currencies: each score has its own rate.
    rates = {
        name: exchange_rate([(points, lift) for _, _, of, points, _, _, lift in rows if of == name])
        for name in {row[2] for row in rows}
    }
    result: list[Behaviour] = []
    for kind, key, own_score, points, did_convert, others, lift in rows:
        rate = rates[own_score]
        result.append(
            Behaviour(
                kind=kind,
                key=key,
                score=own_score,
                points=points,
                converters=did_convert,
                converters_total=converters_total,
                others=others,
                others_total=total - converters_total,
                lift=lift,
                suggested=round(rate * math.log(lift.estimate), 1) + 0.0 if rate is not None and lift else None,
                flag=_flag(points, lift, rate),
            )
        )
    return result


def exchange_rate(judged: Iterable[tuple[float | None, Interval | None]]) -> float | None:
    """Median points per unit of log-lift over the rewarded behaviours that lift conversion."""
    ratios = [
        points / math.log(lift.estimate)
        for points, lift in judged
        if points is not None and points > 0 and lift is not None and lift.estimate > 1
    ]
    return statistics.median(ratios) if ratios else None


def _flag(points: float | None, lift: Interval | None, rate: float | None) -> Flag | None:
    if points is None or lift is None:
        return None
    if rate is None:
        if points > 0 and lift.high < 1:
            return "too_high"
        return "too_low" if points <= 0 and lift.low > 1 else None
    most, least = rate * math.log(lift.high), rate * math.log(lift.low)
    if points > (most * SLACK if most > 0 else most / SLACK):
        return "too_high"
    if points < (least / SLACK if least > 0 else least * SLACK):
        return "too_low"
    return None


def _points_today(scoring: Scoring, score: str, kind: Kind, url: str) -> float:
    """What today's rules of ``score`` add for a plain page view or download of ``url``."""
    event = Event(0, kind, 0.0, url=url)
    return sum(
        rule.points
        for rule in scoring.candidates(kind)
        if rule.score == score and rule.op == "add" and rule.matches(event)
    )
