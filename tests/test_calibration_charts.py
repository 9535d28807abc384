"""Geometry of the calibration charts (tracker.web.admin.calibration_charts): a dot and whisker per
band with leads, thresholds where their value falls, lifts on a log scale centred on 1."""

from __future__ import annotations

from tracker.domain.calibration.bands import bands
from tracker.domain.calibration.intervals import Interval
from tracker.web.admin.calibration_charts import HEIGHT, WIDTH, lift_mark, rate_chart


def test_rates_per_band_and_threshold_markers() -> None:
    found = bands([(0.0, False), (1.0, True), (12.0, True), (13.0, True)], 4)  # 0-4, 4-8 (empty), 8-12, 12-16
    chart = rate_chart(found, 4, [("sql", 12.0), ("best", None)])
    assert [point.band.low for point in chart.points] == [0.0, 12.0]  # an empty band has no rate to draw
    first, last = chart.points
    step = WIDTH / 4
    assert first.x == step / 2 and first.y == HEIGHT / 2  # one of two converted
    assert last.x == 3.5 * step and last.y == 0 and last.low > last.y == last.high  # all converted: at the top
    assert [(m.kind, m.x) for m in chart.markers] == [("sql", 3 * step)]  # 12 opens the fourth band
    assert chart.labels == [(0.0, 0.0), (step, 4.0), (2 * step, 8.0), (3 * step, 12.0)]


def test_lift_marks_on_a_log_scale() -> None:
    mark = lift_mark(Interval(1.0, 0.1, 10.0))
    assert mark is not None and (mark.low, mark.estimate, mark.high, mark.one) == (0.0, 50.0, 100.0, 50.0)
    far = lift_mark(Interval(100.0, 20.0, 500.0))
    assert far is not None and far.estimate == far.low == far.high == 100.0  # beyond the edge: at the edge
    assert lift_mark(None) is None
