"""The sales threshold against results (tracker.domain.calibration.threshold): a planted threshold
is found again, and seed 000's test says whether leads above it convert better."""

from __future__ import annotations

import random

from tracker.domain.calibration.threshold import Cut, best_threshold, cut_at, cuts, threshold_test


def planted(seed: int, threshold: float, people: int = 3000) -> list[tuple[float, bool]]:
    """Scores spread evenly over 0-40; below ``threshold`` 5 % convert, from it on 50 %."""
    rng = random.Random(seed)
    values = []
    for _ in range(people):
        score = float(rng.randint(0, 40))
        values.append((score, rng.random() < (0.5 if score >= threshold else 0.05)))
    return values


def test_a_threshold_planted_at_20_is_found_within_two_points() -> None:
    for seed in range(5):
        best = best_threshold(planted(seed, 20), "f1", 20)
        assert best is not None and 18 <= best.threshold <= 22, seed


def test_precision_criterion_respects_the_minimum_volume() -> None:
    values = [(30.0, True)] + [(float(s), s % 3 == 0) for s in range(20)]
    best = best_threshold(values, "precision", 5)
    # 30, 18 and 15 converted among the six leads from 15 up: the best rate of any cut of five or more.
    assert best is not None and (best.threshold, best.leads, best.converted) == (15.0, 6, 3)
    assert best_threshold(values, "precision", 1) == cuts(values)[0]  # the single converted lead on top
    assert best_threshold([(1.0, False)], "f1", 1) is None  # nobody converted: nothing to aim at


def test_cuts_are_cumulative_from_the_top() -> None:
    found = cuts([(10.0, True), (10.0, False), (5.0, True), (0.0, False)])
    assert [(c.threshold, c.leads, c.converted) for c in found] == [(10.0, 2, 1), (5.0, 3, 2), (0.0, 4, 2)]
    assert found[1].precision == 2 / 3 and found[1].recall == 1.0 and found[1].f1 == 0.8


def test_seed_000_leads_above_the_threshold_convert_better_or_not() -> None:
    better = threshold_test(planted(1, 20), 20)
    assert better.verdict == "better"
    assert better.above.rate is not None and better.below.rate is not None
    assert better.above.rate.low > better.below.rate.high
    flat = threshold_test([(float(s % 40), s % 10 == 0) for s in range(400)], 20)
    assert flat.verdict == "no_better"
    few = threshold_test([(30.0, True), (30.0, False), (5.0, False), (5.0, False)], 20)
    assert few.verdict == "unclear"
    assert threshold_test([(30.0, True)], 20).verdict == "no_data"
    assert threshold_test([(30.0, False), (5.0, False)], 20).verdict == "no_conversion"


def test_the_current_threshold_cut_sits_beside_the_best() -> None:
    values = planted(2, 20)
    current = cut_at(values, 12)
    best = best_threshold(values, "f1", 20)
    assert best is not None and current.leads > best.leads and current.recall >= best.recall
    assert current.f1 < best.f1
    assert cut_at([(1.0, True)], 5) == Cut(5, 0, 0, 0.0, 0.0, 0.0)
