"""Saving a person or device sets only the columns that changed since the stored row."""

from __future__ import annotations

from tracker.domain.facts import CampaignMemory, ScoreState
from tracker.domain.people import PersonRecord, VisitorRecord
from tracker.store.row_updates import person_update, visitor_update


def _person() -> PersonRecord:
    return PersonRecord(7, 1, None, None, "anonymous", {}, ScoreState(), {}, 0.0, None, 10.0, 10.0)


def test_an_unknown_stored_row_gets_every_column() -> None:
    sql, args = person_update(_person(), None)
    assert sql == (
        "UPDATE persons SET email = ?, user_id = ?, stage = ?, profile = ?, scoring = ?, campaigns = ?,"
        " identified_at = ?, last_seen_at = ?, updated_at = ? WHERE id = ?"
    )
    assert args[-1] == 7
    sql, args = visitor_update(VisitorRecord("v", 1, 7, 2, "mobile", "Safari", 0.0, 5.0), None)
    assert sql == (
        "UPDATE visitors SET person_id = ?, visits = ?, device = ?, browser = ?, last_seen_at = ?, seen_slot = ?"
        " WHERE id = ?"
    )
    assert args == [7, 2, "mobile", "Safari", 5.0, 0, "v"]


def test_a_beacon_call_that_only_scored_sets_scores_and_times() -> None:
    stored = _person()
    person = stored.copy()
    person.scoring = ScoreState(values={"fit": 3.0}, last={"fit": 20.0})
    person.last_seen_at = person.updated_at = 20.0
    sql, args = person_update(person, stored)
    assert sql == "UPDATE persons SET scoring = ?, last_seen_at = ?, updated_at = ? WHERE id = ?"
    assert args[1:] == [20.0, 20.0, 7]


def test_every_changed_field_is_saved() -> None:
    stored = _person()
    person = stored.copy()
    person.email, person.user_id, person.stage, person.identified_at = "m@example.com", "u1", "mql", 20.0
    person.profile["company"] = "Acme"
    person.campaigns = {"popup": CampaignMemory(impressions=1)}
    sql, args = person_update(person, stored)
    assert sql.startswith("UPDATE persons SET email = ?, user_id = ?, stage = ?, profile = ?, campaigns = ?,")
    assert '{"company":"Acme"}' in args
    visitor = VisitorRecord("v", 1, 7, 2, "mobile", "Safari", 0.0, 5.0)
    moved = visitor.copy()
    moved.person_id, moved.last_seen_at = 8, 6.0
    assert visitor_update(moved, visitor) == (
        "UPDATE visitors SET person_id = ?, last_seen_at = ? WHERE id = ?",
        [8, 6.0, "v"],
    )


def test_a_device_seen_again_within_its_slot_keeps_the_slot_out_of_the_update() -> None:
    """The slot is indexed: left as it is, the row's update touches no index (migration 0023)."""
    visitor = VisitorRecord("v", 1, 7, 2, "mobile", "Safari", 0.0, 1200.0)
    again = visitor.copy()
    again.last_seen_at = 1799.0
    assert visitor_update(again, visitor) == ("UPDATE visitors SET last_seen_at = ? WHERE id = ?", [1799.0, "v"])
    again.last_seen_at = 1800.0
    assert visitor_update(again, visitor) == (
        "UPDATE visitors SET last_seen_at = ?, seen_slot = ? WHERE id = ?",
        [1800.0, 3, "v"],
    )
