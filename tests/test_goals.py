"""Conversion goals (tracker.domain.programme.goals): the [goals] table, what reaches a goal, the outcome it records."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from tracker.domain.facts import Event
from tracker.domain.outcomes import Outcome
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.goals import Goals, compile_goals, event_key

GOALS = """
won = ["Order Completed", "Deal Won"]
meeting = ["Demo Booked", { campaign = "demo-popup" }]
lost = "Deal Lost"
"""
CAMPAIGNS = frozenset({"demo-popup", "sales-popup"})


def custom(name: str, **props: Any) -> Event:
    return Event(id=1, type="custom", ts=0.0, name=name, props=props)


def goals(source: str = GOALS) -> Goals:
    return compile_goals(tomllib.loads(source), CAMPAIGNS)


def test_names_are_compared_as_segment_compares_track_names() -> None:
    assert event_key("  Order_Completed ") == event_key("order-completed") == "order completed"
    reached = goals().reached(custom("order_completed"))
    assert reached is not None and (reached.kind, reached.actor) == ("won", "goal:Order Completed")
    assert goals().reached(custom("Order")) is None


def test_a_campaign_conversion_reaches_its_goal_and_other_events_do_not() -> None:
    conversion = Event(id=1, type="conversion", ts=0.0, props={"campaign": "demo-popup"})
    reached = goals().reached(conversion)
    assert reached is not None and (reached.kind, reached.actor) == ("meeting", "goal:campaign:demo-popup")
    other = Event(id=1, type="conversion", ts=0.0, props={"campaign": "sales-popup"})
    assert goals().reached(other) is None
    assert goals().reached(Event(id=1, type="page", ts=0.0, name="Deal Won")) is None  # only custom events
    assert compile_goals(None, CAMPAIGNS).reached(custom("Deal Won")) is None


@pytest.mark.parametrize(
    ("name", "props", "expected"),
    [
        ("Order Completed", {"revenue": 1200}, Outcome("won", value=1200.0)),
        ("Deal Won", {"value": "24 000"}, Outcome("won", value=24000.0)),
        ("Deal Won", {"revenue": "lots", "value": 5}, Outcome("won", value=5.0)),
        ("Deal Won", {"revenue": -3}, Outcome("won")),  # no usable value: a won deal of unknown value
        ("Deal Lost", {"reason": " budget "}, Outcome("lost", reason="budget")),
        ("Deal Lost", {}, Outcome("lost", reason="Deal Lost")),
        ("Demo Booked", {"value": 3}, Outcome("meeting")),
    ],
)
def test_the_outcome_takes_value_and_reason_from_the_event(name: str, props: dict[str, Any], expected: Outcome) -> None:
    event = custom(name, **props)
    reached = goals().reached(event)
    assert reached is not None and reached.outcome(event) == expected


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("goals = 3", "goals"),
        ('signed = ["Contract"]', "goals.signed"),
        ("won = []", "goals.won"),
        ("won = [3]", "goals.won[0]"),
        ('won = ["ok", "  "]', "goals.won[1]"),
        (f'won = ["{"x" * 101}"]', "goals.won[0]"),
        ('won = ["page"]', "goals.won[0]"),
        ('won = ["Deal Won"]\nlost = ["deal_won"]', "goals.lost[0]"),
        ('won = [{ campaign = "nope" }]', "goals.won[0].campaign"),
        ('won = [{ campaign = "demo-popup", after = "1d" }]', "goals.won[0].after"),
        ('won = [{ campaign = "demo-popup" }]\nmeeting = [{ campaign = "demo-popup" }]', "goals.meeting[0].campaign"),
    ],
)
def test_goal_errors_name_the_key(source: str, where: str) -> None:
    doc = tomllib.loads(source)
    with pytest.raises(ProgrammeError) as info:
        compile_goals(doc.get("goals", doc), CAMPAIGNS)
    assert info.value.where == where
