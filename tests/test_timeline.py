"""A person's timeline grouped by visit (tracker.domain.timeline)."""

from __future__ import annotations

from typing import Any

from tracker.domain.timeline import group_visits


def event(event_id: int, device: str, visit: int, ts: float) -> dict[str, Any]:
    return {"id": event_id, "device": device, "visit": visit, "ts": ts, "type": "page"}


def test_events_join_their_visit_and_sales_records_stand_alone() -> None:
    visits = [
        {"device": "", "visit": 0, "solo": 9, "first_ts": 50, "last_ts": 50, "events": 1},
        {"device": "phone", "visit": 2, "solo": 0, "first_ts": 30, "last_ts": 40, "events": 2},
        {"device": "laptop", "visit": 1, "solo": 0, "first_ts": 10, "last_ts": 35, "events": 2},
    ]
    events = [
        event(1, "laptop", 1, 10),
        event(2, "phone", 1, 20),  # a visit not on this page: left out
        event(3, "phone", 2, 30),
        event(4, "laptop", 1, 35),
        event(5, "phone", 2, 40),
        event(9, "", 0, 50),
        event(10, "", 0, 50),  # another sales record, not on this page
    ]
    grouped = group_visits(visits, events, {"phone": {"type": "mobile", "browser": "Safari"}})
    assert [[e["id"] for e in v["events"]] for v in grouped] == [[9], [3, 5], [1, 4]]
    assert [v["by_sales"] for v in grouped] == [True, False, False]
    assert grouped[1]["on_device"] == {"type": "mobile", "browser": "Safari"} and grouped[2]["on_device"] is None
