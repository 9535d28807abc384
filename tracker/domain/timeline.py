"""A person's timeline as people read it: visits, newest first, each with its device and its events.

A visit is one device's numbered visit; what sales recorded (an outcome, from no device)
stands alone.  Events inside a visit read oldest first, as they happened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Visits per page of the lead page's timeline; older ones are a link away.
VISITS_PER_PAGE = 15


def visit_key(row: Mapping[str, Any]) -> tuple[str, int, int]:
    """(device, visit number, solo): ``solo`` is the event id of an event with no device, else 0."""
    if "solo" in row:
        return row["device"], row["visit"], row["solo"]
    return row["device"], row["visit"], 0 if row["device"] else row["id"]


def group_visits(
    visits: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    devices: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """``visits`` (newest first) each with its own ``events`` (oldest first) and ``device`` details.

    ``events`` may hold events of other visits (from a time window): they are left out.
    """
    grouped: dict[tuple[str, int, int], dict[str, Any]] = {
        visit_key(visit): {
            **visit,
            "on_device": devices.get(visit["device"]),
            "by_sales": not visit["device"],
            "events": [],
        }
        for visit in visits
    }
    for event in events:
        found = grouped.get(visit_key(event))
        if found is not None:
            found["events"].append(event)
    return list(grouped.values())
