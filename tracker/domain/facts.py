"""Plain data shared by ingest, scoring, decisions and the stores.

Everything here is immutable or copied on write so the pure functions in
``scoring`` and ``decisions`` can be replayed and unit-tested without I/O.
Times are POSIX seconds (float) everywhere: the clock is injected, never read here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tracker.domain.values import value

# Event types the beacon and the APIs may send.  Custom events carry their own name.
EVENT_TYPES = frozenset(
    {
        "page",
        "download",
        "click",
        "outbound",
        "form",
        "engaged",
        "identify",
        "custom",
        "chat",
        # Campaign feedback reported by the beacon; props carry {"campaign": id}.
        "impression",
        "close",
        "conversion",
    }
)
FEEDBACK_TYPES = frozenset({"impression", "close", "conversion"})
# Recorded by the e-mail links (services.email_links), never sent by the beacon or the APIs, so no
# page can forge a click; rules score them like any other type.  ``name`` is the e-mail campaign.
EMAIL_EVENTS = frozenset({"email_click", "email_open"})
# The prop of an e-mail event a security scanner or a privacy proxy caused (its value says which):
# recorded, and scored only where the programme says so (``[email] score_flagged``).
EMAIL_FLAG = "flagged"
# Every type a programme rule may name.
RULE_EVENT_TYPES = EVENT_TYPES | EMAIL_EVENTS
# Recorded by sales (domain.outcomes), never sent by a visitor: in the timeline, never scored.
OUTCOME_EVENT = "outcome"

Stage = Literal["anonymous", "known", "mql", "sql"]
STAGES: tuple[Stage, ...] = ("anonymous", "known", "mql", "sql")
STAGE_RANK: Mapping[str, int] = {s: i for i, s in enumerate(STAGES)}


@value
class Event:
    """One visitor action, already validated and normalised.

    ``props`` holds event properties; for ``form`` events it holds the submitted
    fields, for ``engaged`` events ``{"seconds": n, "scroll": pct}``.
    ``visit`` is the visitor's visit number when the event happened (1 = first
    visit); it is stored with the event so a replay sees the same value.
    """

    id: int
    type: str
    ts: float
    name: str = ""
    url: str = ""
    referrer: str = ""
    props: Mapping[str, Any] = field(default_factory=dict)
    visit: int = 1


@dataclass(slots=True)
class ScoreState:
    """Everything scoring needs to know about one person, and nothing else.

    ``values``    current stored value per score (before lazy decay).
    ``last``      time of the last scoring change per score (decay clock).
    ``hits``      per rule id, the times it fired (only as many as its cap needs).
    ``reached``   per score, the highest threshold ever reached ("mql" or "sql").
    """

    values: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    hits: dict[str, list[float]] = field(default_factory=dict)
    reached: dict[str, str] = field(default_factory=dict)

    def copy(self) -> ScoreState:
        return ScoreState(
            values=dict(self.values),
            last=dict(self.last),
            hits={k: list(v) for k, v in self.hits.items()},
            reached=dict(self.reached),
        )

    def to_json(self) -> dict[str, Any]:
        """The stored form, the largest part of a person's row: short keys, each score's value and decay
        clock together (``[value, last]``, either null if absent), whole values as integers, nothing empty.
        Times are to the millisecond (as events are stored) and counted from the earliest one (``t``): most
        are seconds or days after it, a few digits where each would take fourteen."""
        # In whole milliseconds: ``round`` to an integer is several times cheaper than to 3 digits.
        last = {name: round(ts * 1000) for name, ts in self.last.items()}
        hits = {rule: [round(ts * 1000) for ts in times] for rule, times in self.hits.items()}
        earliest = min(min(last.values(), default=_NEVER), min((min(t) for t in hits.values() if t), default=_NEVER))
        data: dict[str, Any] = {}
        if earliest != _NEVER:
            data["t"] = earliest / 1000
        data["s"] = {
            name: [_short(self.values.get(name)), _seconds(last[name] - earliest) if name in last else None]
            for name in {**self.values, **self.last}
        }
        if hits:
            data["h"] = {rule: [_seconds(ms - earliest) for ms in times] for rule, times in hits.items()}
        if self.reached:
            data["r"] = self.reached
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ScoreState:
        data = data or {}
        # Times stored before they were counted from ``t`` are absolute: counted from 0.
        base = float(data.get("t", 0))
        # One pass over the scores, and nothing built for what is absent: a what-if decodes the
        # state of every person of a site (measured: a third less time than a pass per field).
        if "s" in data:
            values: dict[str, float] = {}
            last: dict[str, float] = {}
            for name, (stored, at) in data["s"].items():
                if stored is not None:
                    values[name] = float(stored)
                if at is not None:
                    last[name] = round(base + at, 3)
            hits, reached = data.get("h"), data.get("r")
        else:  # stored before the short form (a row not saved since)
            values = {k: float(v) for k, v in data.get("values", {}).items()}
            last = {k: round(base + v, 3) for k, v in data.get("last", {}).items()}
            hits, reached = data.get("hits"), data.get("reached")
        return cls(
            values,
            last,
            {k: [round(base + t, 3) for t in v] for k, v in hits.items()} if hits else {},
            {k: str(v) for k, v in reached.items()} if reached else {},
        )


_NEVER = 2**63


def _seconds(ms: int) -> float:
    """Milliseconds as seconds, an integer when whole (as ``_short``)."""
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def _short(value: float | None) -> float | None:
    """A whole number as an integer: "3" rather than "3.0" in JSON (one a float holds exactly: JSON's
    integers beyond 2**53 are not everyone's)."""
    return int(value) if value is not None and value.is_integer() and abs(value) <= 2**53 else value


@value
class ProfileChange:
    """A value brought for one profile field: written, or withheld (``applied`` False) because
    its source may not overwrite what the person's own devices said."""

    field: str
    value: Any
    previous: Any
    applied: bool


@value
class LedgerEntry:
    """One score change: what explains a score to sales.

    ``op`` is "add", "set" or "decay".  ``rule_id`` is "decay" for decay rows.
    ``event_id`` is None for decay rows.
    """

    score: str
    rule_id: str
    event_id: int | None
    op: str
    points: float
    before: float
    after: float
    ts: float


@value
class Crossing:
    """A score reached a threshold ("mql" or "sql") for the first time."""

    score: str
    level: str
    event_id: int
    ts: float


@dataclass(slots=True)
class CampaignMemory:
    """What a person did with one campaign, for frequency caps.

    ``sessions`` holds "visitor_id:visit" keys that saw an impression, capped to the
    latest few so it cannot grow without bound.
    """

    impressions: int = 0
    last_impression: float | None = None
    sessions: list[str] = field(default_factory=list)
    closed: float | None = None
    converted: float | None = None

    def to_json(self) -> list[Any]:
        """The stored form, ``[impressions, last_impression, sessions, closed, converted]`` with times to the
        millisecond and the trailing ones still at their default dropped: most memories end at ``sessions``."""
        stored = [self.impressions, _ms(self.last_impression), self.sessions, _ms(self.closed), _ms(self.converted)]
        while stored and stored[-1] == _MEMORY_DEFAULTS[len(stored) - 1]:
            stored.pop()
        return stored

    @classmethod
    def from_json(cls, data: Sequence[Any] | Mapping[str, Any]) -> CampaignMemory:
        if isinstance(data, Mapping):  # stored before the short form (a row not saved since)
            data = [data.get(key, default) for key, default in zip(_MEMORY_KEYS, _MEMORY_DEFAULTS, strict=True)]
        impressions, last_impression, sessions, closed, converted = [*data, *_MEMORY_DEFAULTS[len(data) :]]
        return cls(
            impressions=int(impressions),
            last_impression=last_impression,
            sessions=list(sessions),
            closed=closed,
            converted=converted,
        )


# A campaign memory's fields in their stored order, and the value each has when nothing happened.
_MEMORY_KEYS = ("impressions", "last_impression", "sessions", "closed", "converted")
_MEMORY_DEFAULTS: tuple[Any, ...] = (0, None, [], None, None)


def _ms(ts: float | None) -> float | None:
    """A time to the millisecond, as events are stored (a held-out impression is timed by the server clock)."""
    return None if ts is None else round(ts, 3)


@value
class VisitContext:
    """Where the visitor is now, for campaign targeting.

    ``session`` is "visitor_id:visit", the key that "once per session" caps use.
    """

    url: str = ""
    referrer: str = ""
    utm: Mapping[str, str] = field(default_factory=dict)
    device: str = "desktop"  # desktop | mobile | tablet
    visits: int = 1
    session: str = ""

    @property
    def returning(self) -> bool:
        return self.visits > 1


@value
class Decision:
    """A campaign to show, as sent to the beacon (rendered as text, never HTML)."""

    campaign: str
    kind: str  # popup | chat | content | banner
    content: Mapping[str, Any]
    trigger: Mapping[str, Any]
    priority: int
    # The experiment arm whose copy this is (domain.experiments); None outside an experiment.
    variant: str | None = None

    def to_json(self) -> dict[str, Any]:
        named = {"variant": self.variant} if self.variant is not None else {}
        return {
            "campaign": self.campaign,
            "kind": self.kind,
            "trigger": dict(self.trigger),
            **named,
            **self.content,
        }


@value
class Incoming:
    """A validated event not yet stored.  ``email`` / ``user_id`` are set when the event identifies."""

    type: str
    ts: float
    name: str = ""
    url: str = ""
    referrer: str = ""
    props: Mapping[str, Any] = field(default_factory=dict)
    email: str | None = None
    user_id: str | None = None
