"""A score over time, as the geometry of a small server-rendered SVG chart (no script, no inline style).

The line is drawn from the ledger: each rule's change is a vertical step at its moment, and
decay is drawn where it really happened — one step down each ``decay.after`` without a
change — rather than where the ledger wrote it (lazily, at the next event).  MQL and SQL
thresholds are horizontal lines.  Coordinates are SVG user units, y growing downwards.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.domain.scoring import DECAY_RULE_ID, ScoreDef

WIDTH = 640
HEIGHT = 180
LEFT = 44  # room for the value labels
RIGHT = 8
TOP = 10
BOTTOM = 24  # room for the date labels
# A long quiet spell decays a score to almost nothing in a few dozen steps; draw no more.
MAX_DECAY_STEPS = 40


@dataclass(frozen=True, slots=True)
class Threshold:
    level: str  # "mql" | "sql"
    value: float
    y: float


@dataclass(frozen=True, slots=True)
class Step:
    x: float
    y: float
    value: float
    decay: bool  # a decay step, rather than a rule's change


@dataclass(frozen=True, slots=True)
class ScoreChart:
    score: str
    start: float  # the first moment drawn (POSIX seconds)
    end: float  # now
    low: float  # the values at the bottom and top of the plot
    high: float
    now: float  # the value now
    path: str  # the SVG path of the line
    steps: tuple[Step, ...]
    thresholds: tuple[Threshold, ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: float = HEIGHT - BOTTOM
    right: int = WIDTH - RIGHT
    top: int = TOP


def score_chart(score: ScoreDef, ledger: Sequence[Mapping[str, Any]], now: float) -> ScoreChart:
    """The chart of ``score`` from its ledger rows (any order, any score: others are ignored) up to ``now``."""
    rows = sorted(
        (row for row in ledger if row["score"] == score.name and row["rule_id"] != DECAY_RULE_ID),
        key=lambda row: row["ts"],
    )
    points: list[tuple[float, float, bool]] = []  # (ts, value, decay step), the line's corners
    marked: list[tuple[float, float, bool]] = []  # a dot at each rule's change and each decay step
    value, changed = 0.0, None
    for row in rows:
        if changed is not None:
            decayed = _decay(score, value, changed, row["ts"])
            marked.extend(decayed)
            points.extend(decayed)
        points.append((row["ts"], float(row["before"]), False))
        points.append((row["ts"], float(row["after"]), False))
        marked.append(points[-1])
        value, changed = float(row["after"]), max(row["ts"], changed or row["ts"])
    if changed is not None:
        decayed = _decay(score, value, changed, now)
        marked.extend(decayed)
        points.extend(decayed)
    start = points[0][0] if points else now
    final = points[-1][1] if points else 0.0
    levels = [(level, limit) for level, limit in (("mql", score.mql), ("sql", score.sql)) if limit is not None]
    values = [v for _, v, _ in points] + [limit for _, limit in levels] + [0.0, final]
    low, high = min(values), max(values)
    high = high + max(1.0, (high - low) * 0.1)
    span = max(now - start, 1.0)

    def x(ts: float) -> float:
        return round(LEFT + (ts - start) / span * (WIDTH - RIGHT - LEFT), 1)

    def y(v: float) -> float:
        return round(HEIGHT - BOTTOM - (v - low) / (high - low) * (HEIGHT - BOTTOM - TOP), 1)

    line = [(x(ts), y(v)) for ts, v, _ in [*points, (now, final, False)]] if points else [(x(start), y(0.0))]
    if len(line) == 1:
        line.append((float(WIDTH - RIGHT), line[0][1]))
    path = "M" + " ".join(f"{px:g},{py:g}" for px, py in _stepped(line))
    return ScoreChart(
        score=score.name,
        start=start,
        end=now,
        low=low,
        high=high,
        now=final,
        path=path,
        steps=tuple(Step(x(ts), y(v), v, decay) for ts, v, decay in marked),
        thresholds=tuple(Threshold(level, limit, y(limit)) for level, limit in levels),
    )


def _decay(score: ScoreDef, value: float, since: float, until: float) -> list[tuple[float, float, bool]]:
    """The steps decay takes ``value`` down between a change at ``since`` and ``until`` (as _value_at counts)."""
    if score.decay is None or value == 0:
        return []
    periods = min(MAX_DECAY_STEPS, max(0, math.floor((until - since) / score.decay.after)))
    kept = 1 - score.decay.percent / 100
    return [(since + k * score.decay.after, round(value * kept**k, 2) + 0.0, True) for k in range(1, periods + 1)]


def _stepped(line: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """A staircase through ``line``: the value holds until the next point, then jumps."""
    stepped = [line[0]]
    for px, py in line[1:]:
        if py != stepped[-1][1] and px != stepped[-1][0]:
            stepped.append((px, stepped[-1][1]))
        if (px, py) != stepped[-1]:
            stepped.append((px, py))
    return stepped
