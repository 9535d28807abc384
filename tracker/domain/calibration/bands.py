"""Score bands: people counted per band of a score, with how many converted and the rate's interval.

The same bands serve as a score's histogram and as its conversion table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tracker.domain.calibration.intervals import Interval, wilson

# Past this many bands the rest is one open band ("120 and more"): a table and a chart stay readable.
MAX_BANDS = 40


@dataclass(frozen=True, slots=True)
class Band:
    low: float
    high: float | None  # None: open-ended, every value from ``low`` up
    leads: int
    converted: int
    rate: Interval | None


def bands(values: Sequence[tuple[float, bool]], width: float) -> list[Band]:
    """``(score, converted)`` pairs counted per band ``[low, low + width)``, from the lowest band
    holding a value to the highest, empty bands included so a chart's gaps show."""
    if not values:
        return []
    first = math.floor(min(score for score, _ in values) / width)
    last = min(math.floor(max(score for score, _ in values) / width), first + MAX_BANDS - 1)
    leads = [0] * (last - first + 1)
    converted = [0] * (last - first + 1)
    for score, did in values:
        index = min(math.floor(score / width), last) - first
        leads[index] += 1
        converted[index] += did
    result: list[Band] = []
    for index, (n, k) in enumerate(zip(leads, converted, strict=True)):
        low = _clean((first + index) * width)
        open_ended = index == len(leads) - 1 and any(score >= (last + 1) * width for score, _ in values)
        high = None if open_ended else _clean(low + width)
        result.append(Band(low, high, n, k, wilson(k, n)))
    return result


def _clean(value: float) -> float:
    # Band edges are multiples of the width: 0.1 * 3 must read 0.3, not 0.30000000000000004.
    return round(value, 6) + 0.0
