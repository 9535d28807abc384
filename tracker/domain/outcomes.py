"""What became of a lead, as sales records it: contacted, meeting, won (with its value), lost (with why).

An outcome is stored as an event of the person (type ``outcome``, name = the kind), so it
appears in the timeline and the timeline export, moves with a merge and goes with an
erasure like every other event; it never scores.  The calibration reports read them back
per person (``Queries.outcomes_of``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker.domain.facts import OUTCOME_EVENT

KINDS = ("contacted", "meeting", "won", "lost")
MAX_TEXT = 500
MAX_VALUE = 1e12


class OutcomeError(ValueError):
    """An outcome that cannot be recorded, naming the field that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str
    value: float | None = None  # won: the deal's value
    reason: str | None = None  # lost: why
    note: str | None = None  # any kind: a word for colleagues

    def props(self, actor: str) -> dict[str, Any]:
        """The stored event's properties: who recorded it, and what was said."""
        recorded = {"value": self.value, "reason": self.reason, "note": self.note}
        return {"actor": actor, **{key: value for key, value in recorded.items() if value is not None}}


def check_outcome(raw: Mapping[str, Any]) -> Outcome:
    """An outcome from a JSON body or a form (blank text counts as absent); OutcomeError names the field."""
    kind = raw.get("kind")
    if kind not in KINDS:
        raise OutcomeError("kind", f"kind must be one of: {', '.join(KINDS)}")
    value = _value(raw.get("value"))
    reason = _text(raw.get("reason"), "reason")
    note = _text(raw.get("note"), "note")
    if kind == "won" and value is None:
        raise OutcomeError("value", "a won lead needs the deal's value")
    if kind != "won" and value is not None:
        raise OutcomeError("value", "only a won lead has a value")
    if kind == "lost" and reason is None:
        raise OutcomeError("reason", "a lost lead needs a reason")
    if kind != "lost" and reason is not None:
        raise OutcomeError("reason", "only a lost lead has a reason")
    return Outcome(kind, value, reason, note)


def outcome_of_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """A stored outcome event as the API, exports and webhooks show it (``ts`` as stored)."""
    props = event.get("props") or {}
    return {
        "kind": event["name"],
        "value": props.get("value"),
        "reason": props.get("reason"),
        "note": props.get("note"),
        "actor": props.get("actor"),
        "event_id": event["id"],
        "ts": event["ts"],
    }


def is_outcome(event: Mapping[str, Any]) -> bool:
    return event.get("type") == OUTCOME_EVENT


def _value(raw: Any) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise OutcomeError("value", "value must be a number")
    try:
        value = float(_plain(raw) if isinstance(raw, str) else raw)
    except (TypeError, ValueError):
        raise OutcomeError("value", "value must be a number") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_VALUE:
        raise OutcomeError("value", f"value must be between 0 and {MAX_VALUE:g}")
    return value


def _plain(text: str) -> str:
    """A number typed by a person: "12 000,50" (French) or "12000.50"."""
    for space in (" ", "\u00a0", "\u202f"):
        text = text.replace(space, "")
    return text.replace(",", ".")


def _text(raw: Any, field: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise OutcomeError(field, f"{field} must be text")
    text = raw.strip()
    if len(text) > MAX_TEXT:
        raise OutcomeError(field, f"{field} must be at most {MAX_TEXT} characters")
    return text or None
