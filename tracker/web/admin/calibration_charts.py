"""Geometry of the calibration page's SVG charts (the template draws them; a table beside each
holds the same numbers): conversion rate per score band with its interval, and each behaviour's
lift with its interval on a log scale where 1 (no effect) sits in the middle."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tracker.domain.calibration.bands import Band
from tracker.domain.calibration.intervals import Interval

WIDTH = 560
HEIGHT = 160
BOTTOM = 20  # room for the band labels
# Lifts are drawn from 1/LIFT_SPAN to LIFT_SPAN; beyond, the whisker stops at the edge.
LIFT_SPAN = 10.0


@dataclass(frozen=True, slots=True)
class RatePoint:
    x: float
    y: float  # the rate
    low: float  # the interval's ends
    high: float
    band: Band


@dataclass(frozen=True, slots=True)
class Marker:
    kind: str  # "sql" (the threshold in force) | "best"
    x: float
    value: float


@dataclass(frozen=True, slots=True)
class RateChart:
    width: int
    height: int  # of the plot, labels below it
    points: list[RatePoint]
    markers: list[Marker]
    labels: list[tuple[float, float]]  # x, the band's low edge


def rate_chart(bands: Sequence[Band], width: float, markers: Sequence[tuple[str, float | None]]) -> RateChart:
    """One dot and whisker per band with leads; ``markers`` are thresholds drawn as vertical lines."""
    step = WIDTH / max(len(bands), 1)
    first = bands[0].low if bands else 0.0

    def y(rate: float) -> float:
        return round(HEIGHT * (1 - rate), 1)

    points = [
        RatePoint(round((index + 0.5) * step, 1), y(band.rate.estimate), y(band.rate.low), y(band.rate.high), band)
        for index, band in enumerate(bands)
        if band.rate is not None
    ]
    drawn = [
        Marker(kind, round(min(max((value - first) / width * step, 0.0), WIDTH), 1), value)
        for kind, value in markers
        if value is not None
    ]
    every = max(1, math.ceil(len(bands) / 10))
    labels = [(round(index * step, 1), band.low) for index, band in enumerate(bands) if index % every == 0]
    return RateChart(WIDTH, HEIGHT, points, drawn, labels)


@dataclass(frozen=True, slots=True)
class LiftMark:
    """Percentages of a cell's width: the estimate, the interval's ends, and 1 (no effect) for a lift."""

    estimate: float
    low: float
    high: float
    one: float = 50.0


def lift_mark(lift: Interval | None) -> LiftMark | None:
    if lift is None:
        return None
    return LiftMark(_log_x(lift.estimate), _log_x(lift.low), _log_x(lift.high))


def rate_mark(rate: Interval | None) -> LiftMark | None:
    """A conversion rate and its interval on a cell's width from 0 to 100 %."""
    if rate is None:
        return None
    return LiftMark(round(100 * rate.estimate, 1), round(100 * rate.low, 1), round(100 * rate.high, 1))


def _log_x(value: float) -> float:
    if value <= 0:
        return 0.0
    return round(min(max(50 + 50 * math.log(value) / math.log(LIFT_SPAN), 0.0), 100.0), 1)
