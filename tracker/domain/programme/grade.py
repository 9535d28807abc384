"""The combined grade (HubSpot's A1–C3): a fit band and an engagement band, read from two scores.

``[grade]`` names the two scores and the minimum of each band::

    [grade]
    fit = "fit"
    engagement = "engagement"
    fit_bands = { A = 60, B = 30, C = 0 }
    engagement_bands = { 1 = 50, 2 = 20, 3 = 0 }

A score falls in the band with the highest minimum it reaches; the lowest band also takes
every score below its minimum, so every lead has a grade.  The grade of a lead is the
two labels side by side ("A1"), computed from its current (decayed) scores: it moves
with them and is never stored.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from tracker.domain.programme.checks import ProgrammeError, expect_number, expect_table, reject_unknown

_KEYS = frozenset({"fit", "engagement", "fit_bands", "engagement_bands"})
# Labels end up side by side in CSV cells, API values and targeting lists.
_LABEL = re.compile(r"[A-Za-z0-9]{1,10}")
MAX_BANDS = 10


@dataclass(frozen=True, slots=True)
class Band:
    label: str
    minimum: float


@dataclass(frozen=True, slots=True)
class Grade:
    fit: str  # the score read for the letter
    engagement: str  # the score read for the number
    fit_bands: tuple[Band, ...]  # highest minimum first
    engagement_bands: tuple[Band, ...]

    def of(self, scores: Mapping[str, float]) -> str:
        """The grade of current scores (a score never scored counts as 0)."""
        return _band(self.fit_bands, scores.get(self.fit, 0.0)) + _band(
            self.engagement_bands, scores.get(self.engagement, 0.0)
        )

    @property
    def grades(self) -> tuple[str, ...]:
        """Every grade a lead can have, best first: A1, A2, A3, B1…"""
        return tuple(fit.label + engaged.label for fit in self.fit_bands for engaged in self.engagement_bands)


def _band(bands: tuple[Band, ...], value: float) -> str:
    return next((band.label for band in bands if value >= band.minimum), bands[-1].label)


def compile_grade(raw: Any, score_names: Collection[str]) -> Grade | None:
    """The ``[grade]`` table, None when the programme has none; ProgrammeError names the key."""
    if raw is None:
        return None
    table = expect_table(raw, "grade")
    reject_unknown(table, _KEYS, "grade")
    missing = sorted(_KEYS - table.keys())
    if missing:
        raise ProgrammeError(f"grade.{missing[0]}", "missing")
    fit, engagement = (_score(table[key], score_names, f"grade.{key}") for key in ("fit", "engagement"))
    grade = Grade(
        fit=fit,
        engagement=engagement,
        fit_bands=_bands(table["fit_bands"], "grade.fit_bands"),
        engagement_bands=_bands(table["engagement_bands"], "grade.engagement_bands"),
    )
    if len(set(grade.grades)) != len(grade.grades):
        raise ProgrammeError("grade.engagement_bands", "two grades read the same: make the labels distinct")
    return grade


def _score(value: Any, score_names: Collection[str], where: str) -> str:
    if not isinstance(value, str) or value not in score_names:
        raise ProgrammeError(where, f"unknown score {value!r} (declared: {', '.join(score_names) or 'none'})")
    return value


def _bands(raw: Any, where: str) -> tuple[Band, ...]:
    table = expect_table(raw, where)
    if not 1 <= len(table) <= MAX_BANDS:
        raise ProgrammeError(where, f"expected 1 to {MAX_BANDS} bands, like {{ A = 60, B = 30, C = 0 }}")
    bands = []
    for label, minimum in table.items():
        if not _LABEL.fullmatch(label):
            raise ProgrammeError(f"{where}.{label}", "a band's label is up to 10 letters or digits")
        bands.append(Band(label, expect_number(minimum, f"{where}.{label}")))
    ordered = tuple(sorted(bands, key=lambda band: -band.minimum))
    for higher, lower in itertools.pairwise(ordered):
        if higher.minimum == lower.minimum:
            raise ProgrammeError(f"{where}.{lower.label}", f"starts at {lower.minimum:g} like {higher.label}")
    return ordered


def compile_grade_check(spec: Any, grade: Grade | None, where: str) -> Callable[[Mapping[str, float]], bool]:
    """``grade = ["A1", "A2"]`` in a campaign's or a route's ``when``: whether current scores have one of them."""
    if grade is None:
        raise ProgrammeError(where, "the programme declares no [grade]")
    wanted = spec if isinstance(spec, list) else [spec]
    unknown = [item for item in wanted if item not in grade.grades]
    if not wanted or unknown:
        raise ProgrammeError(where, f"expected one or a list of {', '.join(grade.grades)}, got {spec!r}")
    allowed = frozenset(wanted)
    return lambda scores: grade.of(scores) in allowed
