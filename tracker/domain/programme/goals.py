"""Conversion goals: events that mean an outcome of the lead, without anyone recording it.

``[goals]`` maps outcome kinds (``domain.outcomes``) to custom event names, from a Segment
``track`` or the beacon's ``tracker.track(name)``, and to campaign conversions::

    [goals]
    won = ["Order Completed", "Deal Won"]
    meeting = ["Demo Booked", { campaign = "demo-popup" }]

Names are compared as Segment's track names are (``event_key``: any case, ``_`` and ``-``
read as spaces).  A won goal takes the deal's value from the event's ``revenue`` or
``value`` property, a lost goal its reason from ``reason`` (else the goal's name).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from tracker.domain.facts import EVENT_TYPES, Event
from tracker.domain.outcomes import KINDS, Outcome, OutcomeError, check_outcome
from tracker.domain.programme.checks import ProgrammeError, expect_table, reject_unknown

# The longest event name the beacon and Segment accept.
MAX_NAME = 100
# Where the deal's value of a won goal is read, first found first.
VALUE_PROPS = ("revenue", "value")
_SEPARATORS = re.compile(r"[\s_-]+")
_CAMPAIGN_KEYS = frozenset({"campaign"})


def event_key(name: str) -> str:
    """How event names are compared: "Order_Completed" and "order completed" are one name."""
    return _SEPARATORS.sub(" ", name).strip().lower()


@dataclass(frozen=True, slots=True)
class Goal:
    kind: str  # the outcome it records
    name: str  # as the programme writes it: "Order Completed", "campaign:demo-popup"

    @property
    def actor(self) -> str:
        """Who the outcome event says recorded it."""
        return f"goal:{self.name}"

    def outcome(self, event: Event) -> Outcome:
        """The outcome ``event`` reached: a value or reason the event does not give well is left out."""
        if self.kind == "won":
            for key in VALUE_PROPS:
                try:
                    return check_outcome({"kind": "won", "value": event.props.get(key)})
                except OutcomeError:
                    continue
            return Outcome("won")
        if self.kind == "lost":
            try:
                return check_outcome({"kind": "lost", "reason": event.props.get("reason")})
            except OutcomeError:
                return Outcome("lost", reason=self.name)
        return Outcome(self.kind)


@dataclass(frozen=True, slots=True)
class Goals:
    events: Mapping[str, Goal] = field(default_factory=dict)  # by event_key of the custom event's name
    campaigns: Mapping[str, Goal] = field(default_factory=dict)  # by campaign id

    def reached(self, event: Event) -> Goal | None:
        """The goal ``event`` reaches, if any."""
        if event.type == "custom" and self.events:
            return self.events.get(event_key(event.name))
        if event.type == "conversion" and self.campaigns:
            campaign = event.props.get("campaign")
            return self.campaigns.get(campaign) if isinstance(campaign, str) else None
        return None


def compile_goals(raw: Any, campaign_ids: Collection[str]) -> Goals:
    """The ``[goals]`` table; ProgrammeError names the key (``goals.won[1]``)."""
    if raw is None:
        return Goals()
    events: dict[str, Goal] = {}
    campaigns: dict[str, Goal] = {}
    for kind, names in expect_table(raw, "goals").items():
        where = f"goals.{kind}"
        if kind not in KINDS:
            raise ProgrammeError(where, f"unknown outcome (expected one of {', '.join(KINDS)})")
        items = names if isinstance(names, list) else [names]
        if not items:
            raise ProgrammeError(where, "expected an event name or a list of them")
        for index, item in enumerate(items):
            at = f"{where}[{index}]"
            if isinstance(item, Mapping):
                campaign = _campaign(item, campaign_ids, at)
                _add(campaigns, campaign, Goal(kind, f"campaign:{campaign}"), f"{at}.campaign")
            else:
                name = _event_name(item, at)
                _add(events, event_key(name), Goal(kind, name), at)
    return Goals(events, campaigns)


def _event_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise ProgrammeError(
            where, f"expected an event name of up to {MAX_NAME} characters, or {{ campaign = <campaign id> }}"
        )
    if event_key(value) in EVENT_TYPES:
        raise ProgrammeError(where, f"{value!r} is an event type, not the name of a custom event")
    return value.strip()


def _campaign(table: Mapping[str, Any], campaign_ids: Collection[str], where: str) -> str:
    reject_unknown(table, _CAMPAIGN_KEYS, where)
    campaign = table.get("campaign")
    if not isinstance(campaign, str) or campaign not in campaign_ids:
        declared = ", ".join(sorted(campaign_ids)) or "none"
        raise ProgrammeError(f"{where}.campaign", f"unknown campaign {campaign!r} (declared: {declared})")
    return campaign


def _add(goals: dict[str, Goal], key: str, goal: Goal, where: str) -> None:
    held = goals.get(key)
    if held is not None:
        raise ProgrammeError(where, f"already a goal: {held.name!r} records {held.kind}")
    goals[key] = goal
