"""95 % intervals for a conversion rate (Wilson) and for a ratio of two rates (log method), and quartiles."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# The normal quantile of a two-sided 95 % interval.
Z95 = 1.959963984540054
# Added to every cell of a ratio with an empty cell (Haldane): the log of zero has no interval.
EMPTY_CELL = 0.5


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def wilson(successes: int, trials: int, z: float = Z95) -> Interval | None:
    """The rate ``successes / trials`` with its Wilson score interval (None without trials).

    Wilson rather than the textbook p ± z·se: that one collapses to [0, 0] for a band with
    no conversion yet, and leaves [0, 1] for small bands, exactly where marketers look.
    """
    if trials <= 0:
        return None
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    # At 0 % and 100 % the bound is exactly 0 or 1; the formula only gets there give or take a rounding.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    return Interval(p, low, 1.0 if successes == trials else min(1.0, centre + half))


def rate_ratio(a: int, n1: int, b: int, n2: int, z: float = Z95) -> Interval | None:
    """``(a / n1) / (b / n2)`` with its log-ratio (Katz) interval; None when a group is empty, or
    when nobody (or everybody) succeeded: there is no ratio to speak of.

    An empty cell gets ``EMPTY_CELL`` added to each count so the interval stays finite.
    """
    if n1 <= 0 or n2 <= 0 or a + b == 0 or (a == n1 and b == n2):
        return None
    if a == 0 or b == 0 or a == n1 or b == n2:
        a_, n1_, b_, n2_ = a + EMPTY_CELL, n1 + 2 * EMPTY_CELL, b + EMPTY_CELL, n2 + 2 * EMPTY_CELL
    else:
        a_, n1_, b_, n2_ = float(a), float(n1), float(b), float(n2)
    ratio = (a_ / n1_) / (b_ / n2_)
    spread = z * math.sqrt(1 / a_ - 1 / n1_ + 1 / b_ - 1 / n2_)
    return Interval(ratio, ratio * math.exp(-spread), ratio * math.exp(spread))


def interval_json(interval: Interval | None) -> dict[str, float] | None:
    return None if interval is None else {"estimate": interval.estimate, "low": interval.low, "high": interval.high}


@dataclass(frozen=True, slots=True)
class Quartiles:
    count: int
    q1: float
    median: float
    q3: float


def quartiles(values: Sequence[float]) -> Quartiles | None:
    """First quartile, median and third quartile (inclusive method); None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return Quartiles(1, values[0], values[0], values[0])
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return Quartiles(len(values), q1, median, q3)
