from __future__ import annotations

from tracker.web.admin.charts import RANGE_LEFT, RANGE_ROW, WIDTH, ranges


def test_ranges_put_every_row_on_one_scale_up_to_the_highest_interval() -> None:
    chart = ranges([("control", "Control", 5.0, 2.0, 10.0), ("b", "b", 20.0, 15.0, 25.0)])
    control, b = chart.rows
    assert chart.top == 25.0 and chart.height == 2 * RANGE_ROW
    assert (control.y, b.y) == (0, RANGE_ROW)
    span = WIDTH - RANGE_LEFT
    assert b.high == WIDTH and b.bar == round(span * 20 / 25, 1)
    assert control.low == round(RANGE_LEFT + span * 2 / 25, 1)
    assert (control.series, control.label, control.value) == ("control", "Control", 5.0)


def test_ranges_of_nothing_keep_a_scale() -> None:
    chart = ranges([("a", "a", 0.0, 0.0, 0.0)])
    assert chart.top == 1.0 and chart.rows[0].bar == 0
