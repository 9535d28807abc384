"""Uplift of a campaign experiment: each arm's conversion rate against the reference arm, with 95 % intervals.

Each person belongs to the arm of their first exposure (shown or held out) and converts if
a goal happens within the experiment's window after it: intention to treat, so a variant
shown to someone who then ignored it still counts against it.  Rates carry Wilson score
intervals; differences carry Newcombe's hybrid score interval (method 10 of Newcombe 1998),
which stays inside [-1, 1] and behaves at 0 % and 100 %, unlike the textbook Wald interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tracker.domain.calibration import intervals
from tracker.domain.calibration.intervals import Z95, Interval


def wilson(successes: int, trials: int, z: float = Z95) -> Interval:
    """The Wilson score interval of ``successes / trials``; [0, 1] when nothing was tried, so
    an arm nobody met yet still has an interval to set a difference against."""
    return intervals.wilson(successes, trials, z) or Interval(0.0, 0.0, 1.0)


def newcombe(a: int, n: int, b: int, m: int, z: float = Z95) -> Interval:
    """Newcombe's hybrid score interval of ``a/n - b/m``."""
    one, two = wilson(a, n, z), wilson(b, m, z)
    p1, p2 = one.estimate, two.estimate
    d = p1 - p2
    low = d - math.sqrt((p1 - one.low) ** 2 + (two.high - p2) ** 2)
    high = d + math.sqrt((one.high - p1) ** 2 + (p2 - two.low) ** 2)
    return Interval(d, max(-1.0, low), min(1.0, high))


@dataclass(frozen=True, slots=True)
class ArmResult:
    name: str
    people: int
    converted: int
    rate_interval: Interval  # its estimate is the rate
    # Against the reference arm, its estimate the uplift; None for the reference itself (or when there is none).
    uplift_interval: Interval | None

    @property
    def rate(self) -> float:
        return self.rate_interval.estimate

    @property
    def uplift(self) -> float | None:
        return self.uplift_interval.estimate if self.uplift_interval is not None else None

    @property
    def significant(self) -> bool:
        """The interval of the difference excludes zero."""
        interval = self.uplift_interval
        return interval is not None and (interval.low > 0 or interval.high < 0)


@dataclass(frozen=True, slots=True)
class FirstExposure:
    person_id: int
    arm: str
    ts: float


def first_exposures(rows: Iterable[FirstExposure]) -> dict[int, FirstExposure]:
    """Each person's earliest exposure: a merged person may have met two arms before the merge,
    and the first one is the one their behaviour since answers to."""
    first: dict[int, FirstExposure] = {}
    for row in rows:
        held = first.get(row.person_id)
        if held is None or (row.ts, row.arm) < (held.ts, held.arm):
            first[row.person_id] = row
    return first


def arm_results(
    exposures: Iterable[FirstExposure],
    conversions: Mapping[int, Sequence[float]],
    window: float,
    arms: Sequence[str],
    reference: str | None,
) -> list[ArmResult]:
    """One result per arm of ``arms`` (in that order), then any arm met only in the log.

    ``conversions`` holds each person's goal times; one within ``[first exposure, + window]``
    makes them a converter.
    """
    counts: dict[str, list[int]] = {name: [0, 0] for name in arms}
    for first in first_exposures(exposures).values():
        tally = counts.setdefault(first.arm, [0, 0])
        tally[0] += 1
        if any(first.ts <= ts <= first.ts + window for ts in conversions.get(first.person_id, ())):
            tally[1] += 1
    base = counts.get(reference) if reference is not None else None
    results: list[ArmResult] = []
    for name, (people, converted) in counts.items():
        uplift = None
        if base is not None and name != reference and people and base[0]:
            uplift = newcombe(converted, people, base[1], base[0])
        results.append(ArmResult(name, people, converted, wilson(converted, people), uplift))
    return results
