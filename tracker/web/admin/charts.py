"""Chart geometry for server-rendered SVG: the template draws the shapes computed here.

No script and no inline style: each shape carries its series as a class (coloured by
console.css) and its value in a ``<title>``; a table beside each chart holds the same
numbers for screen readers and for anyone who would rather read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 560
HEIGHT = 140
GAP = 0.25  # of a column's width, between columns


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    value: int
    label: str  # the column's label (a day), for the bar's <title>


@dataclass(frozen=True, slots=True)
class Columns:
    width: int
    height: int
    bars: list[Bar]
    top: int  # the value the full height stands for
    labels: list[tuple[float, str]]  # x of a column's centre, its label (every few columns)


def columns(data: Sequence[tuple[str, dict[str, int]]], series: Sequence[str], *, every: int = 1) -> Columns:
    """Stacked columns, one per ``(label, counts)``, ``series`` stacked bottom up."""
    top = max([sum(counts.get(s, 0) for s in series) for _, counts in data] + [1])
    step = WIDTH / max(len(data), 1)
    bar_width = step * (1 - GAP)
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for index, (label, counts) in enumerate(data):
        x = index * step + step * GAP / 2
        base = float(HEIGHT)
        for name in series:
            value = counts.get(name, 0)
            if value:
                height = HEIGHT * value / top
                base -= height
                bars.append(Bar(round(x, 1), round(base, 1), round(bar_width, 1), round(height, 1), name, value, label))
        if index % every == 0:
            labels.append((round(x + bar_width / 2, 1), label))
    return Columns(WIDTH, HEIGHT, bars, top, labels)


def share(value: float, top: float) -> float:
    """``value`` as a percentage of ``top`` (the length of a horizontal bar)."""
    return round(100 * value / top, 1) if top > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Range:
    """One row of an interval chart: a bar to ``value`` and a whisker from ``low`` to ``high``."""

    series: str  # the row's key, for its class
    label: str
    y: float
    bar: float  # the bar's width
    low: float  # x of the whisker's ends
    high: float
    value: float
    low_value: float
    high_value: float


@dataclass(frozen=True, slots=True)
class Ranges:
    width: int
    height: int
    left: int  # where the bars start: the labels are on the left of it
    row: int
    rows: list[Range]
    top: float  # the value the full width stands for


RANGE_ROW = 28
RANGE_LEFT = 120


def ranges(data: Sequence[tuple[str, str, float, float, float]]) -> Ranges:
    """Horizontal bars with their intervals, one row per ``(series, label, value, low, high)``, on one scale from 0."""
    top = max([high for *_, high in data] + [0.0]) or 1.0
    span = WIDTH - RANGE_LEFT

    def x(value: float) -> float:
        return round(RANGE_LEFT + span * value / top, 1)

    rows = [
        Range(series, label, index * RANGE_ROW, round(span * value / top, 1), x(low), x(high), value, low, high)
        for index, (series, label, value, low, high) in enumerate(data)
    ]
    return Ranges(WIDTH, RANGE_ROW * len(rows), RANGE_LEFT, RANGE_ROW, rows, top)
