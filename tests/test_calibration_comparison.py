"""Conversion by band under the current programme and a draft (tracker.domain.calibration.comparison):
each lead read at its conversion or at the period's end, converters' current scores counted from
the stored ledger afterwards, both tables over the same bands."""

from __future__ import annotations

from tracker.domain.calibration.comparison import ConversionComparison
from tracker.domain.calibration.history import LedgerRow
from tracker.domain.scoring import compile_scoring

DAY = 86400.0
CURRENT = compile_scoring({"scores": {"engagement": {"sql": 12}}, "rules": []})
DRAFT = compile_scoring({"scores": {"engagement": {"sql": 12}, "fit": {}}, "rules": []})


def test_leads_are_read_at_their_conversion_or_the_period_end() -> None:
    comparison = ConversionComparison.of(CURRENT, DRAFT, "engagement", 10 * DAY, 20 * DAY)
    assert comparison is not None and comparison.width == 2.0  # a sixth of the SQL threshold
    # Converted on day 12 at 9 with the draft (its replay's ledger), 14 later on; 3 now, 1 with the draft.
    replayed = [LedgerRow(1, "engagement", "wp", 11 * DAY, 9.0), LedgerRow(1, "engagement", "wp", 13 * DAY, 14.0)]
    comparison.add(1, 12 * DAY, {"engagement": 3.0}, {"engagement": 14.0}, DRAFT, replayed)
    comparison.add(2, None, {"engagement": 3.0}, {"engagement": 1.0}, DRAFT, [])
    comparison.add(3, 5 * DAY, {"engagement": 30.0}, {"engagement": 30.0}, DRAFT, [])  # converted before: out
    comparison.add(4, 25 * DAY, {}, {}, DRAFT, [])  # converts after the period: not yet a converter
    assert comparison.waiting == {1: 12 * DAY}
    stored = [LedgerRow(1, "engagement", "wp", 11 * DAY, 6.0), LedgerRow(1, "engagement", "wp", 13 * DAY, 3.0)]
    comparison.add_stored(CURRENT, [1], stored)
    assert comparison.waiting == {}
    now, draft = comparison.rows()
    assert [(b.low, b.high) for b in now] == [(b.low, b.high) for b in draft]
    assert [(b.low, b.leads, b.converted) for b in now] == [
        (0.0, 1, 0),
        (2.0, 1, 0),
        (4.0, 0, 0),
        (6.0, 1, 1),
        (8.0, 0, 0),
    ]
    assert [(b.low, b.leads, b.converted) for b in draft] == [
        (0.0, 2, 0),
        (2.0, 0, 0),
        (4.0, 0, 0),
        (6.0, 0, 0),
        (8.0, 1, 1),
    ]
    assert comparison.to_json()["after"][-1]["rate"]["estimate"] == 1.0


def test_a_converter_without_stored_rows_scored_nothing_and_no_score_no_comparison() -> None:
    comparison = ConversionComparison.of(CURRENT, DRAFT, "fit", 0.0, DAY)
    assert comparison is not None and comparison.width == 5.0  # no threshold: the default width
    comparison.add(7, DAY / 2, {}, {}, DRAFT, [])
    comparison.add_stored(CURRENT, [7], [])
    now, draft = comparison.rows()
    assert (
        [(b.low, b.leads, b.converted) for b in now] == [(b.low, b.leads, b.converted) for b in draft] == [(0.0, 1, 1)]
    )
    assert ConversionComparison.of(CURRENT, DRAFT, None, 0.0, DAY) is None
