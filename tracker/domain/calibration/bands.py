"""Score bands: people counted per band of a score, with how many converted and the rate's interval.

The same bands serve as a score's histogram and as its conversion table.  Counting is by band
index (``BandCounts``), so a what-if can count a whole site one lead at a time, and two counts
can be laid out over the same bands to be read side by side.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tracker.domain.calibration.intervals import Interval, interval_json, wilson

# Past this many bands the rest is one open band ("120 and more"): a table and a chart stay readable.
MAX_BANDS = 40


@dataclass(frozen=True, slots=True)
class Band:
    low: float
    high: float | None  # None: open-ended, every value from ``low`` up
    leads: int
    converted: int
    rate: Interval | None


@dataclass(slots=True)
class BandCounts:
    """Leads and conversions per band ``[index * width, (index + 1) * width)`` of one score."""

    width: float
    leads: Counter[int] = field(default_factory=Counter)
    converted: Counter[int] = field(default_factory=Counter)

    def add(self, score: float, converted: bool) -> None:
        index = math.floor(score / self.width)
        self.leads[index] += 1
        self.converted[index] += converted


def bands(values: Sequence[tuple[float, bool]], width: float) -> list[Band]:
    """``(score, converted)`` pairs counted per band ``[low, low + width)``, from the lowest band
    holding a value to the highest, empty bands included so a chart's gaps show."""
    counts = BandCounts(width)
    for score, did in values:
        counts.add(score, did)
    return laid_out(counts)[0]


def laid_out(*counts: BandCounts) -> list[list[Band]]:
    """Each count's bands over the same span (the lowest to the highest band any of them holds),
    so that row i of each is the same band; all counts share their width."""
    held = [index for found in counts for index in found.leads]
    if not held:
        return [[] for _ in counts]
    width = counts[0].width
    first = min(held)
    last = min(max(held), first + MAX_BANDS - 1)
    open_ended = max(held) > last
    result: list[list[Band]] = []
    for found in counts:
        leads = [0] * (last - first + 1)
        converted = [0] * (last - first + 1)
        for index, n in found.leads.items():
            leads[min(index, last) - first] += n
            converted[min(index, last) - first] += found.converted[index]
        rows: list[Band] = []
        for offset, (n, k) in enumerate(zip(leads, converted, strict=True)):
            low = _clean((first + offset) * width)
            high = None if open_ended and offset == last - first else _clean(low + width)
            rows.append(Band(low, high, n, k, wilson(k, n)))
        result.append(rows)
    return result


def band_json(band: Band) -> dict[str, Any]:
    return {
        "low": band.low,
        "high": band.high,
        "leads": band.leads,
        "converted": band.converted,
        "rate": interval_json(band.rate),
    }


def band_of_json(data: dict[str, Any]) -> Band:
    """The band ``band_json`` wrote (a what-if's result, kept as JSON)."""
    rate = data["rate"]
    return Band(
        low=float(data["low"]),
        high=None if data["high"] is None else float(data["high"]),
        leads=int(data["leads"]),
        converted=int(data["converted"]),
        rate=None if rate is None else Interval(float(rate["estimate"]), float(rate["low"]), float(rate["high"])),
    )


def _clean(value: float) -> float:
    # Band edges are multiples of the width: 0.1 * 3 must read 0.3, not 0.30000000000000004.
    return round(value, 6) + 0.0
