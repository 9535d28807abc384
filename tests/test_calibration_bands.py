"""Score bands (tracker.domain.calibration.bands): every band from the lowest to the highest value,
empty ones included, a Wilson rate each, and an open last band past MAX_BANDS."""

from __future__ import annotations

from tracker.domain.calibration.bands import MAX_BANDS, BandCounts, bands, laid_out


def test_bands_count_leads_and_conversions_and_keep_empty_bands() -> None:
    found = bands([(-3.0, False), (1.0, True), (4.9, False), (12.0, True), (14.0, False)], 5)
    assert [(b.low, b.high, b.leads, b.converted) for b in found] == [
        (-5.0, 0.0, 1, 0),
        (0.0, 5.0, 2, 1),
        (5.0, 10.0, 0, 0),
        (10.0, 15.0, 2, 1),
    ]
    assert found[1].rate is not None and found[1].rate.estimate == 0.5
    assert found[2].rate is None


def test_fractional_widths_have_clean_edges_and_no_values_no_bands() -> None:
    assert [b.low for b in bands([(0.0, False), (0.35, True)], 0.1)] == [0.0, 0.1, 0.2, 0.3]
    assert bands([], 5) == []


def test_far_values_fold_into_one_open_band() -> None:
    found = bands([(0.0, False), (10_000.0, True)], 1)
    assert len(found) == MAX_BANDS
    assert (found[-1].low, found[-1].high, found[-1].leads, found[-1].converted) == (MAX_BANDS - 1, None, 1, 1)


def test_two_counts_laid_out_over_the_same_bands() -> None:
    now, draft = BandCounts(5), BandCounts(5)
    now.add(1.0, True)
    draft.add(12.0, True)
    draft.add(10_000.0, False)
    low, high = laid_out(now, draft)
    assert [(b.low, b.high) for b in low] == [(b.low, b.high) for b in high]
    assert (len(low), low[-1].high, high[-1].leads) == (MAX_BANDS, None, 1)
    assert [(b.leads, b.converted) for b in low[:3]] == [(1, 1), (0, 0), (0, 0)]
    assert [(b.leads, b.converted) for b in high[:3]] == [(0, 0), (0, 0), (1, 1)]
    assert laid_out(BandCounts(5), BandCounts(5)) == [[], []]
