"""Intervals of calibration (tracker.domain.calibration.intervals): Wilson against published values,
the rate ratio's log interval, quartiles."""

from __future__ import annotations

import math

import pytest

from tracker.domain.calibration.intervals import quartiles, rate_ratio, wilson


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    # Newcombe (1998), table I, Wilson score method without continuity correction.
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_matches_published_intervals(successes: int, trials: int, low: float, high: float) -> None:
    interval = wilson(successes, trials)
    assert interval is not None
    assert interval.estimate == successes / trials
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


def test_wilson_has_no_rate_without_trials_and_stays_within_zero_and_one() -> None:
    assert wilson(0, 0) is None
    everything = wilson(7, 7)
    assert everything is not None and everything.high == 1.0 and 0.5 < everything.low < 1


def test_rate_ratio_log_interval() -> None:
    # 30/100 against 10/100: ratio 3, se of the log = sqrt(1/30 - 1/100 + 1/10 - 1/100).
    ratio = rate_ratio(30, 100, 10, 100)
    assert ratio is not None
    spread = 1.959963984540054 * math.sqrt(1 / 30 - 1 / 100 + 1 / 10 - 1 / 100)
    assert ratio.estimate == pytest.approx(3.0)
    assert ratio.low == pytest.approx(3 * math.exp(-spread)) and ratio.high == pytest.approx(3 * math.exp(spread))
    assert ratio.contains(3) and not ratio.contains(1)


def test_rate_ratio_with_an_empty_cell_stays_finite_and_without_a_group_is_none() -> None:
    ratio = rate_ratio(0, 10, 5, 50)
    assert ratio is not None and 0 < ratio.low < ratio.estimate < ratio.high < math.inf
    assert rate_ratio(3, 0, 5, 50) is None and rate_ratio(3, 10, 0, 0) is None
    assert rate_ratio(0, 10, 0, 50) is None and rate_ratio(10, 10, 50, 50) is None  # nobody, everybody


def test_quartiles() -> None:
    spread = quartiles([1.0, 2.0, 3.0, 4.0, 5.0])
    assert spread is not None and (spread.count, spread.q1, spread.median, spread.q3) == (5, 2.0, 3.0, 4.0)
    single = quartiles([7.0])
    assert single is not None and (single.q1, single.median, single.q3) == (7.0, 7.0, 7.0)
    assert quartiles([]) is None
