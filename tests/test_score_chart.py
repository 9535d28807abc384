"""A score over time as SVG geometry (tracker.domain.score_chart): steps where rules scored, decay
where it really happened, thresholds as lines, the value now at the end."""

from __future__ import annotations

from typing import Any

from tracker.domain.score_chart import BOTTOM, HEIGHT, LEFT, RIGHT, WIDTH, score_chart
from tracker.domain.scoring import Decay, ScoreDef

DAY = 86400.0
ENGAGEMENT = ScoreDef("engagement", 8.0, 12.0, Decay(30 * DAY, 50.0))


def row(rule: str, before: float, after: float, ts: float, score: str = "engagement") -> dict[str, Any]:
    return {"score": score, "rule_id": rule, "before": before, "after": after, "ts": ts, "op": "add"}


def test_rules_step_up_and_decay_steps_down_where_it_happened() -> None:
    ledger = [
        row("wp-c", 0, 12, 0),
        row("decay", 12, 6, 40 * DAY),  # written lazily at the next event...
        row("quality-blog", 6, 8, 40 * DAY),
        row("wp-a", 0, 2, 0, score="fit"),  # another score: not on this chart
    ]
    chart = score_chart(ENGAGEMENT, list(reversed(ledger)), 100 * DAY)
    # ...but drawn at 30 days; then 8 halves at 70 and 100 days.
    assert [(s.value, s.decay) for s in chart.steps] == [(12, False), (6, True), (8, False), (4, True), (2, True)]
    assert chart.now == 2 and chart.start == 0 and chart.end == 100 * DAY
    decay = chart.steps[1]
    assert decay.x == round(LEFT + 0.3 * (WIDTH - RIGHT - LEFT), 1)
    assert [(t.level, t.value) for t in chart.thresholds] == [("mql", 8.0), ("sql", 12.0)]
    sql = chart.thresholds[1]
    assert chart.top <= sql.y < chart.steps[1].y < HEIGHT - BOTTOM
    assert chart.path.startswith(f"M{LEFT:g},") and chart.path.endswith(f"{WIDTH - RIGHT:g},{chart.steps[-1].y:g}")


def test_a_score_without_decay_keeps_its_value_and_a_negative_one_fits() -> None:
    flat = ScoreDef("fit", None, None, None)
    chart = score_chart(flat, [row("job", 0, -15, 10, score="fit"), row("buyer", -15, -5, 20, score="fit")], 1000)
    assert [s.value for s in chart.steps] == [-15, -5] and chart.now == -5
    assert chart.low == -15 and chart.thresholds == ()
    assert all(HEIGHT - BOTTOM >= s.y >= chart.top for s in chart.steps)


def test_a_long_silence_draws_a_bounded_number_of_steps() -> None:
    chart = score_chart(ENGAGEMENT, [row("wp-c", 0, 12, 0)], 10_000 * DAY)
    assert len([s for s in chart.steps if s.decay]) == 40
