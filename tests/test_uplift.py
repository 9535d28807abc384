from __future__ import annotations

import pytest

from tracker.domain.uplift import FirstExposure, arm_results, first_exposures, newcombe, wilson

DAY = 86400.0


def test_wilson_matches_newcombes_worked_example() -> None:
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion": 81/263.
    interval = wilson(81, 263)
    assert interval.low == pytest.approx(0.2553, abs=5e-5)
    assert interval.high == pytest.approx(0.3662, abs=5e-5)


@pytest.mark.parametrize(
    ("a", "n", "b", "m", "low", "high"),
    [
        # Newcombe (1998), "Interval estimation for the difference between independent proportions",
        # Table II, method 10 (hybrid score, no continuity correction).
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
    ],
)
def test_newcombe_matches_the_published_intervals(a: int, n: int, b: int, m: int, low: float, high: float) -> None:
    interval = newcombe(a, n, b, m)
    assert interval.low == pytest.approx(low, abs=5e-5)
    assert interval.high == pytest.approx(high, abs=5e-5)


def test_extremes_stay_inside_their_bounds() -> None:
    assert wilson(0, 0).low == 0.0 and wilson(0, 0).high == 1.0
    assert wilson(10, 10).high == 1.0 and wilson(0, 10).low == 0.0
    assert newcombe(10, 10, 0, 10).high <= 1.0 and newcombe(0, 10, 10, 10).low >= -1.0


def test_a_person_belongs_to_the_arm_of_their_first_exposure() -> None:
    rows = [FirstExposure(1, "b", 50.0), FirstExposure(1, "control", 10.0), FirstExposure(2, "b", 5.0)]
    first = first_exposures(rows)
    assert first[1].arm == "control" and first[2].arm == "b"


def test_conversions_count_within_the_window_after_the_first_exposure() -> None:
    exposures = [FirstExposure(person, "control" if person <= 4 else "b", 0.0) for person in range(1, 9)]
    conversions = {
        1: [3 * DAY],  # control, in the window
        2: [-DAY],  # before the exposure: not caused by it
        5: [DAY],
        6: [13 * DAY],
        7: [15 * DAY],  # too late
        8: [DAY, 2 * DAY],  # twice is one converter
    }
    results = {
        r.name: r for r in arm_results(exposures, conversions, 14 * DAY, ["control", "b", "original"], "control")
    }
    assert (results["control"].people, results["control"].converted) == (4, 1)
    assert (results["b"].people, results["b"].converted) == (4, 3)
    assert results["b"].uplift == pytest.approx(0.5)
    interval = newcombe(3, 4, 1, 4)
    assert results["b"].uplift_interval == interval
    assert results["control"].uplift is None and results["control"].uplift_interval is None
    # An arm nobody met yet is listed, with nothing to compare.
    assert results["original"].people == 0 and results["original"].uplift is None


def test_a_planted_effect_is_found_and_none_where_none_was_planted() -> None:
    exposures = [FirstExposure(p, ("control", "b", "c")[p % 3], 0.0) for p in range(3000)]
    # b triples the control's 5 %; c does nothing.
    rates = {"control": 50, "b": 150, "c": 50}
    conversions = {p: [DAY] for p in range(3000) if (p // 3) % 1000 < rates[("control", "b", "c")[p % 3]]}
    results = {r.name: r for r in arm_results(exposures, conversions, 14 * DAY, ["control", "b", "c"], "control")}
    assert results["b"].uplift == pytest.approx(0.10)
    assert results["b"].significant
    assert results["c"].uplift == pytest.approx(0.0) and not results["c"].significant
    interval = results["b"].uplift_interval
    assert interval is not None and interval.low < 0.10 < interval.high
