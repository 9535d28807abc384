"""A programme in words and tables, for people who do not read TOML (the console's programme page).

Values come from the compiled programme (tokens resolved, thresholds, decay); the wording of
each rule's ``when``, points and limit comes from its source, so a rule reads as written:
"Download of */livre-blanc-c* → engagement +12 (token wp_vision), once".
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from tracker.domain.facts import OUTCOME_EVENT
from tracker.domain.outcomes import KINDS
from tracker.domain.programme.load import Programme
from tracker.domain.scoring import OUTCOME_RULE_PREFIX

KIND_WORDS = {
    "page": "Page view",
    "download": "Download",
    "click": "Click",
    "outbound": "Outbound link",
    "form": "Form",
    "engaged": "Engaged time",
    "identify": "Identification",
    "chat": "Chat",
    "impression": "Campaign shown",
    "close": "Campaign closed",
    "conversion": "Conversion",
}


def _number(value: float) -> str:
    return f"{value:g}"


def duration_words(seconds: float) -> str:
    """86400 → "1d", 5400 → "90m": the TOML's own duration units."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{_number(seconds)}s"


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " or ".join(_value(v) for v in value)
    return str(value)


def when_words(when: Mapping[str, Any]) -> str:
    """``{type = "download", url = "*/x*"}`` → "Download of */x*"."""
    kind = when.get("type")
    words = KIND_WORDS.get(str(kind), f"Event {kind}") if kind is not None else "Any event"
    if "url" in when:
        words += f" of {when['url']}"
    extras = [f"{key} {_value(value)}" for key, value in when.items() if key not in ("type", "url")]
    return words + (f" with {'; '.join(extras)}" if extras else "")


def points_words(raw: Any, op: str, points: float, tokens: Mapping[str, float]) -> str:
    amount = f"= {_number(points)}" if op == "set" else f"{'+' if points >= 0 else ''}{_number(points)}"
    if isinstance(raw, str) and raw.strip().lstrip("+-=").strip() in tokens:
        return f"{amount} (token {raw.strip().lstrip('+-=').strip()})"
    return amount


def limit_words(raw: Any) -> str:
    text = str(raw if raw is not None else "once").strip()
    if text in ("once", "always"):
        return "once" if text == "once" else "every time"
    count, _, window = text.partition("/")
    return f"at most {count} per {window}" if window else f"at most {count} times ever"


def describe(programme: Programme) -> dict[str, Any]:
    """Tables of the programme: scores, tokens, rules in words, campaigns, routes, goals and grade."""
    doc: Mapping[str, Any] = tomllib.loads(programme.source)
    scoring = programme.scoring
    raw_rules = {str(rule.get("id")): rule for rule in doc.get("rules", []) if isinstance(rule, Mapping)}
    rules = []
    for rule in scoring.rules:
        raw = raw_rules.get(rule.id, {})
        when = raw.get("when", {})
        condition = when_words(when if isinstance(when, Mapping) else {})
        points = points_words(raw.get("points"), rule.op, rule.points, scoring.tokens)
        text = f"{condition} → {rule.score} {points}, {limit_words(raw.get('limit'))}"
        rules.append({"id": rule.id, "score": rule.score, "text": text})
    return {
        "scores": [
            {
                "name": score.name,
                "mql": score.mql,
                "sql": score.sql,
                "decay": f"−{_number(score.decay.percent)} % after {duration_words(score.decay.after)} without scoring"
                if score.decay is not None
                else None,
                "max": score.max,
                # "lost → = 0": what an outcome of each kind does to the score.
                "on_outcome": [
                    {
                        "kind": rule.id.removeprefix(OUTCOME_RULE_PREFIX),
                        "points": points_words(None, rule.op, rule.points, {}),
                    }
                    for rule in scoring.candidates(OUTCOME_EVENT)
                    if rule.score == score.name
                ],
            }
            for score in scoring.scores.values()
        ],
        "tokens": [{"name": name, "value": _number(value)} for name, value in scoring.tokens.items()],
        "rules": rules,
        "campaigns": [
            {
                "id": campaign.id,
                "kind": campaign.kind,
                "priority": campaign.priority,
                "frequency": campaign.frequency,
                "title": str(campaign.content.get("title") or campaign.content.get("text") or ""),
                "target": _value(raw.get("target", raw.get("when", {}))) if isinstance(raw, Mapping) else "",
            }
            for campaign, raw in zip(programme.campaigns, _raw_list(doc, "campaigns"), strict=False)
        ],
        "routes": [
            {
                "id": route.id,
                "queue": route.queue,
                "owners": ", ".join(route.owners),
                "stage": route.stage,
                "when": _value(raw.get("when", {})) if isinstance(raw, Mapping) else "",
            }
            for route, raw in zip(programme.routes, _raw_list(doc, "routes"), strict=False)
        ],
        "goals": _goals(programme),
        "grade": programme.grade,
    }


def _goals(programme: Programme) -> list[dict[str, Any]]:
    """Per outcome kind, the goals that record it: event names as the programme writes them, campaign ids."""
    goals = programme.goals
    found = [
        {
            "kind": kind,
            "events": [goal.name for goal in goals.events.values() if goal.kind == kind],
            "campaigns": [campaign for campaign, goal in goals.campaigns.items() if goal.kind == kind],
        }
        for kind in KINDS
    ]
    return [entry for entry in found if entry["events"] or entry["campaigns"]]


def _raw_list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    return list(value) if isinstance(value, list) else []
