"""What changed between two programmes, for people: a summary in words and the TOML's line diff.

The summary compares what the programmes *do* (token values, thresholds and decay, each rule's
score, points, limit and condition, campaigns and routes), so "token wp_vision 12 → 15" and the
"rule wp-c: points 12 → 15" it causes both show, while a moved comment shows only in the lines.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker.domain.facts import OUTCOME_EVENT
from tracker.domain.programme.describe import duration_words, limit_words, when_words
from tracker.domain.programme.load import Programme
from tracker.domain.scoring import OUTCOME_RULE_PREFIX, Rule, ScoreDef


@dataclass(frozen=True, slots=True)
class Line:
    kind: str  # "add", "del", "same" or "hunk" (an @@ header)
    text: str


def summary(old: Programme, new: Programme) -> list[str]:
    """One line per change, in programme order: tokens, scores, rules, campaigns, routes, goals, grade."""
    old_doc, new_doc = tomllib.loads(old.source), tomllib.loads(new.source)
    lines = _mapping_changes("token", old.scoring.tokens, new.scoring.tokens, _number)
    for name in _keys(old.scoring.scores, new.scoring.scores):
        was, now = old.scoring.scores.get(name), new.scoring.scores.get(name)
        lines += _presence("score", name, was, now) or _score_changes(name, was, now)
        if was is not None and now is not None and _on_outcome(old, name) != _on_outcome(new, name):
            lines.append(f"score {name}: on_outcome {_on_outcome(old, name)} → {_on_outcome(new, name)}")
    old_rules, new_rules = {r.id: r for r in old.scoring.rules}, {r.id: r for r in new.scoring.rules}
    raw_old, raw_new = _by_id(old_doc, "rules"), _by_id(new_doc, "rules")
    for rule_id in _keys(old_rules, new_rules):
        was_rule, now_rule = old_rules.get(rule_id), new_rules.get(rule_id)
        lines += _presence("rule", rule_id, was_rule, now_rule) or _rule_changes(
            rule_id, was_rule, now_rule, raw_old.get(rule_id, {}), raw_new.get(rule_id, {})
        )
    for key, word in (("campaigns", "campaign"), ("routes", "route")):
        was_items, now_items = _by_id(old_doc, key), _by_id(new_doc, key)
        for item_id in _keys(was_items, now_items):
            was_item, now_item = was_items.get(item_id), now_items.get(item_id)
            changed = was_item is not None and now_item is not None and was_item != now_item
            lines += _presence(word, item_id, was_item, now_item) or ([f"{word} {item_id} changed"] if changed else [])
    if old_doc.get("sales_holdout") != new_doc.get("sales_holdout"):
        lines.append("sales holdout changed")
    for key in ("goals", "grade"):
        if old_doc.get(key) != new_doc.get(key):
            lines.append(f"{key} changed")
    return lines


def line_diff(old_source: str, new_source: str, context: int = 3) -> list[Line]:
    """The unified diff of two TOML texts, line by line, without the file headers."""
    diff = difflib.unified_diff(old_source.splitlines(), new_source.splitlines(), lineterm="", n=context)
    lines: list[Line] = []
    for text in diff:
        if text.startswith(("---", "+++")) and not lines:
            continue
        kind = {"@": "hunk", "+": "add", "-": "del"}.get(text[:1], "same")
        lines.append(Line(kind, text))
    return lines


def _keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Keys of both, in the new order, then the removed ones in the old order."""
    return list(new) + [key for key in old if key not in new]


def _presence(word: str, name: str, was: object | None, now: object | None) -> list[str]:
    if was is None:
        return [f"{word} {name} added"]
    if now is None:
        return [f"{word} {name} removed"]
    return []


def _mapping_changes(word: str, old: Mapping[str, float], new: Mapping[str, float], fmt: Any) -> list[str]:
    lines = []
    for name in _keys(old, new):
        if name not in old:
            lines.append(f"{word} {name} added ({fmt(new[name])})")
        elif name not in new:
            lines.append(f"{word} {name} removed")
        elif old[name] != new[name]:
            lines.append(f"{word} {name} {fmt(old[name])} → {fmt(new[name])}")
    return lines


def _score_changes(name: str, was: ScoreDef | None, now: ScoreDef | None) -> list[str]:
    assert was is not None and now is not None
    lines = [
        f"score {name}: {label} {_optional(a)} → {_optional(b)}"
        for label, a, b in (("mql", was.mql, now.mql), ("sql", was.sql, now.sql))
        if a != b
    ]
    if was.decay != now.decay:
        lines.append(f"score {name}: decay {_decay(was)} → {_decay(now)}")
    if was.max != now.max:
        lines.append(f"score {name}: max {_optional(was.max)} → {_optional(now.max)}")
    return lines


def _rule_changes(
    rule_id: str, was: Rule | None, now: Rule | None, raw_old: Mapping[str, Any], raw_new: Mapping[str, Any]
) -> list[str]:
    assert was is not None and now is not None
    lines = []
    if was.score != now.score:
        lines.append(f"rule {rule_id}: score {was.score} → {now.score}")
    if (was.op, was.points) != (now.op, now.points):
        lines.append(f"rule {rule_id}: points {_points(was)} → {_points(now)}")
    if was.limit != now.limit:
        lines.append(f"rule {rule_id}: {limit_words(raw_old.get('limit'))} → {limit_words(raw_new.get('limit'))}")
    old_when, new_when = raw_old.get("when", {}), raw_new.get("when", {})
    if old_when != new_when:
        lines.append(f"rule {rule_id}: when {when_words(old_when)} → {when_words(new_when)}")
    return lines


def _on_outcome(programme: Programme, score: str) -> str:
    """``lost = 0, won +5``: what outcomes do to ``score``, "-" when nothing."""
    rules = [rule for rule in programme.scoring.candidates(OUTCOME_EVENT) if rule.score == score]
    return ", ".join(f"{rule.id.removeprefix(OUTCOME_RULE_PREFIX)} {_points(rule)}" for rule in rules) or "-"


def _by_id(doc: Mapping[str, Any], key: str) -> dict[str, Mapping[str, Any]]:
    items = doc.get(key, [])
    return {str(item.get("id")): item for item in items if isinstance(item, Mapping)} if isinstance(items, list) else {}


def _number(value: float) -> str:
    return f"{value:g}"


def _optional(value: float | None) -> str:
    return "-" if value is None else _number(value)


def _points(rule: Rule) -> str:
    return f"= {_number(rule.points)}" if rule.op == "set" else _number(rule.points)


def _decay(score: ScoreDef) -> str:
    if score.decay is None:
        return "none"
    return f"{_number(score.decay.percent)} % after {duration_words(score.decay.after)}"
