"""What changes between two programmes' MQL/SQL thresholds: the part marketing and sales agree on
together (seed 004), so it cannot ride along with an ordinary publish."""

from __future__ import annotations

from tracker.domain.programme.load import Programme

Thresholds = tuple[float | None, float | None]  # a score's (mql, sql); None: no such threshold
NO_THRESHOLDS: Thresholds = (None, None)


def threshold_changes(old: Programme, new: Programme) -> list[str]:
    """One line per score whose (mql, sql) differ, e.g. ``engagement: sql 12 → 14``."""
    before, after = old.thresholds(), new.thresholds()
    lines = []
    for name in sorted(set(before) | set(after)):
        lines.extend(score_changes(name, before.get(name, NO_THRESHOLDS), after.get(name, NO_THRESHOLDS)))
    return lines


def score_changes(name: str, was: Thresholds, now: Thresholds) -> list[str]:
    return [
        f"{name}: {label} {_fmt(a)} → {_fmt(b)}"
        for label, a, b in (("mql", was[0], now[0]), ("sql", was[1], now[1]))
        if a != b
    ]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
