"""The sales threshold against results: do leads above it convert better (seed 000), and which
threshold would have served best by a chosen criterion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tracker.domain.calibration.intervals import Interval, wilson

Criterion = Literal["f1", "precision"]
CRITERIA: tuple[Criterion, ...] = ("f1", "precision")
# How the two sides of a threshold compare: intervals apart (better), the rate above no higher
# than below (no_better: seed 000 says raise the threshold), or not enough evidence yet; or
# nothing to compare (a side without leads, or no conversion at all).
Verdict = Literal["better", "no_better", "unclear", "no_data", "no_conversion"]


@dataclass(frozen=True, slots=True)
class Cut:
    """Calling every lead at or above ``threshold`` sales-ready, judged against who converted."""

    threshold: float
    leads: int  # at or above
    converted: int  # ... of whom converted
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True, slots=True)
class Side:
    leads: int
    converted: int
    rate: Interval | None


@dataclass(frozen=True, slots=True)
class ThresholdTest:
    threshold: float
    above: Side  # at or above the threshold
    below: Side
    verdict: Verdict


def cuts(values: Sequence[tuple[float, bool]]) -> list[Cut]:
    """One cut at each distinct score, highest first (a threshold between two scores selects
    the same leads as the higher one)."""
    total = sum(did for _, did in values)
    ordered = sorted(values, key=lambda pair: pair[0], reverse=True)
    result: list[Cut] = []
    leads = converted = 0
    for index, (score, did) in enumerate(ordered):
        leads += 1
        converted += did
        if index + 1 < len(ordered) and ordered[index + 1][0] == score:
            continue
        precision = converted / leads
        recall = converted / total if total else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result.append(Cut(score, leads, converted, precision, recall, f1))
    return result


def cut_at(values: Sequence[tuple[float, bool]], threshold: float) -> Cut:
    """The cut a given threshold makes (the current one, to show beside the best)."""
    total = sum(did for _, did in values)
    chosen = [did for score, did in values if score >= threshold]
    converted = sum(chosen)
    precision = converted / len(chosen) if chosen else 0.0
    recall = converted / total if total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Cut(threshold, len(chosen), converted, precision, recall, f1)


def best_threshold(values: Sequence[tuple[float, bool]], criterion: Criterion, min_volume: int) -> Cut | None:
    """The cut that maximises ``criterion``: F1, or precision among cuts keeping at least
    ``min_volume`` leads (without a floor the single best lead would always win).  Ties go to
    the lower threshold, which hands sales more leads for the same quality."""
    candidates = [cut for cut in cuts(values) if criterion == "f1" or cut.leads >= min_volume]
    if not candidates or not any(did for _, did in values):
        return None
    return max(reversed(candidates), key=lambda cut: cut.f1 if criterion == "f1" else cut.precision)


def threshold_test(values: Sequence[tuple[float, bool]], threshold: float) -> ThresholdTest:
    """Whether leads at or above ``threshold`` converted better than those below (seed 000)."""
    above = [did for score, did in values if score >= threshold]
    below = [did for score, did in values if score < threshold]
    high = Side(len(above), sum(above), wilson(sum(above), len(above)))
    low = Side(len(below), sum(below), wilson(sum(below), len(below)))
    return ThresholdTest(threshold, high, low, _verdict(high, low))


def _verdict(high: Side, low: Side) -> Verdict:
    above, below = high.rate, low.rate
    if above is None or below is None:
        return "no_data"
    if high.converted + low.converted == 0:
        return "no_conversion"
    if above.low > below.high:
        return "better"
    if above.estimate <= below.estimate:
        return "no_better"
    return "unclear"
