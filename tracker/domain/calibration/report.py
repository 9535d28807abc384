"""The calibration report of one site and period, assembled from the store's plain rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from tracker.domain.calibration.bands import Band, bands
from tracker.domain.calibration.behaviours import Behaviour, behaviours, done_within
from tracker.domain.calibration.history import ActionRow, Lead, LedgerRow
from tracker.domain.calibration.intervals import Interval, Quartiles, quartiles, wilson
from tracker.domain.calibration.threshold import (
    Criterion,
    Cut,
    ThresholdTest,
    best_threshold,
    cut_at,
    threshold_test,
)
from tracker.domain.facts import STAGES
from tracker.domain.programme.grade import Grade
from tracker.domain.scoring import Scoring

# Outcome kinds that count as a conversion unless the reader chooses: a won deal.
DEFAULT_CONVERTING = ("won",)
DEFAULT_WINDOW = 30 * 86400.0
DEFAULT_MIN_VOLUME = 20
# A score without a sales threshold is banded in steps of this many points.
DEFAULT_WIDTH = 5.0
# ... one with a threshold in about this many steps up to it, so the threshold falls on a band's edge.
BANDS_TO_SQL = 6


@dataclass(frozen=True, slots=True)
class Options:
    start: float
    end: float
    score: str
    width: float
    converting: tuple[str, ...] = DEFAULT_CONVERTING
    window: float = DEFAULT_WINDOW
    criterion: Criterion = "f1"
    min_volume: int = DEFAULT_MIN_VOLUME


def default_width(scoring: Scoring, score: str) -> float:
    """A sixth of the score's sales threshold in whole points (at least 1), else ``DEFAULT_WIDTH``."""
    sql = scoring.scores[score].sql
    return float(max(1, round(sql / BANDS_TO_SQL))) if sql is not None and sql > 0 else DEFAULT_WIDTH


@dataclass(frozen=True, slots=True)
class GroupRow:
    """The leads of one group (a stage, a grade), how many converted and the rate's interval."""

    group: str
    leads: int
    converted: int
    rate: Interval | None


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds from a start (the first visit, entering MQL) to conversion, over converters."""

    start: str  # "first_visit" | "mql"
    spread: Quartiles | None


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    options: Options
    leads: int
    converted: int
    rate: Interval | None
    bands: list[Band]  # of the chosen score
    stages: list[GroupRow]
    sql: float | None  # the chosen score's sales threshold today
    test: ThresholdTest | None  # above vs below it (None without one)
    current: Cut | None  # what the threshold in force selects
    best: Cut | None
    behaviours: list[Behaviour]
    distributions: Mapping[str, list[Band]]  # every score, in programme order
    timings: list[Timing]
    grades: list[GroupRow] | None = None  # best first; None when the programme declares no grade


def calibration_report(
    scoring: Scoring,
    options: Options,
    leads: Sequence[Lead],
    ledger: Sequence[LedgerRow],
    actions: Iterable[ActionRow],
    grade: Grade | None = None,
) -> CalibrationReport:
    """The report of the period's ``leads`` (``leads_of``), from their ledger and their page views
    and downloads (those within each lead's window suffice: ``action_windows``)."""
    chosen = _pairs(leads, options.score)
    sql = scoring.scores[options.score].sql
    converted = sum(lead.converted for lead in leads)
    done = done_within(leads, ledger, actions, options.window)
    return CalibrationReport(
        options=options,
        leads=len(leads),
        converted=converted,
        rate=wilson(converted, len(leads)),
        bands=bands(chosen, options.width),
        # Every lead is at least known.
        stages=_groups(leads, lambda lead: lead.stage, STAGES[1:]),
        sql=sql,
        test=threshold_test(chosen, sql) if sql is not None else None,
        current=cut_at(chosen, sql) if sql is not None else None,
        best=best_threshold(chosen, options.criterion, options.min_volume),
        behaviours=behaviours(leads, done, scoring, options.score),
        distributions={name: bands(_pairs(leads, name), options.width) for name in scoring.scores},
        timings=_timings(leads),
        # Read from the scores at the reference moment, like the bands: the grade a converter had then.
        grades=None if grade is None else _grades(leads, grade),
    )


def _pairs(leads: Sequence[Lead], score: str) -> list[tuple[float, bool]]:
    return [(lead.scores.get(score, 0.0), lead.converted) for lead in leads]


def _groups(leads: Sequence[Lead], group_of: Callable[[Lead], str], groups: Sequence[str]) -> list[GroupRow]:
    rows: list[GroupRow] = []
    for group in groups:
        of_group = [lead.converted for lead in leads if group_of(lead) == group]
        rows.append(GroupRow(group, len(of_group), sum(of_group), wilson(sum(of_group), len(of_group))))
    return rows


def _grades(leads: Sequence[Lead], grade: Grade) -> list[GroupRow]:
    return _groups(leads, lambda lead: grade.of(lead.scores), grade.grades)


def _timings(leads: Sequence[Lead]) -> list[Timing]:
    converters = [lead for lead in leads if lead.converted]
    first = [lead.reference - lead.first_seen for lead in converters if lead.first_seen is not None]
    mql = [lead.reference - lead.mql_at for lead in converters if lead.mql_at is not None]
    return [
        Timing("first_visit", quartiles(sorted(max(0.0, s) for s in first))),
        Timing("mql", quartiles(sorted(s for s in mql if s >= 0))),
    ]
