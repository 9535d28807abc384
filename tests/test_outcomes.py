"""Outcomes of leads (tracker.domain.outcomes, tracker.services.outcomes) and the sales API that
records them: what is valid, the errors naming their field, the timeline event, the webhook."""

from __future__ import annotations

from typing import Any

import pytest

from tracker.domain.outcomes import Outcome, OutcomeError, check_outcome

from .conftest import Server
from .test_ingest import marc_journey


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"kind": "contacted"}, Outcome("contacted")),
        ({"kind": "meeting", "note": "  Tuesday  ", "value": "", "reason": ""}, Outcome("meeting", note="Tuesday")),
        ({"kind": "won", "value": 12000}, Outcome("won", value=12000.0)),
        ({"kind": "won", "value": "12 500,50"}, Outcome("won", value=12500.5)),  # typed the French way
        ({"kind": "won", "value": "12\u202f500"}, Outcome("won", value=12500.0)),
        ({"kind": "lost", "reason": "budget"}, Outcome("lost", reason="budget")),
    ],
)
def test_valid_outcomes(raw: dict[str, Any], expected: Outcome) -> None:
    assert check_outcome(raw) == expected


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "kind"),
        ({"kind": "maybe"}, "kind"),
        ({"kind": "won"}, "value"),
        ({"kind": "won", "value": "lots"}, "value"),
        ({"kind": "won", "value": True}, "value"),
        ({"kind": "won", "value": -1}, "value"),
        ({"kind": "won", "value": "nan"}, "value"),
        ({"kind": "won", "value": 1e13}, "value"),
        ({"kind": "contacted", "value": 5}, "value"),
        ({"kind": "lost"}, "reason"),
        ({"kind": "lost", "reason": "   "}, "reason"),
        ({"kind": "won", "value": 1, "reason": "why not"}, "reason"),
        ({"kind": "lost", "reason": ["a"]}, "reason"),
        ({"kind": "contacted", "note": "x" * 501}, "note"),
    ],
)
def test_invalid_outcomes_name_their_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(OutcomeError) as raised:
        check_outcome(raw)
    assert raised.value.field == field


def test_what_is_stored_with_the_event() -> None:
    assert Outcome("won", value=10.0).props("user:3") == {"actor": "user:3", "value": 10.0}
    assert Outcome("lost", reason="budget", note="n").props("key:1") == {
        "actor": "key:1",
        "reason": "budget",
        "note": "n",
    }


async def record(server: Server, person: int | str, body: Any, expect: int, role: str = "sales") -> Any:
    key = await server.key(role)
    response = await server.http.post(
        f"/api/leads/{person}/outcome", json=body, headers={"authorization": f"Bearer {key}"}
    )
    assert response.status_code == expect, response.text
    return response.json()


async def test_the_api_records_an_outcome_in_the_timeline_without_scoring(server: Server) -> None:
    await marc_journey(server)
    lead = (await server.api("/api/leads", stage="sql"))["leads"][0]
    server.clock.advance(60)
    recorded = await record(server, lead["id"], {"kind": "won", "value": 24000, "note": "3 printers"}, 201)
    assert (recorded["kind"], recorded["value"], recorded["note"]) == ("won", 24000.0, "3 printers")
    assert recorded["actor"].startswith("key:") and recorded["id"] == lead["id"]
    story = await server.api(f"/api/leads/{lead['id']}")
    assert story["timeline"][0]["type"] == "outcome" and story["timeline"][0]["name"] == "won"
    assert story["scores"] == lead["scores"] and story["stage"] == "sql"  # an outcome never scores
    assert [o["event_id"] for o in story["outcomes"]] == [recorded["event_id"]]
    assert (await server.api("/api/leads", stage="sql"))["leads"][0]["outcome"]["kind"] == "won"
    outcomes = await server.runtime.store.read(lambda q: q.outcomes_of(lead["id"]))
    assert [(o["name"], o["props"]["value"]) for o in outcomes] == [("won", 24000.0)]


async def test_the_api_refuses_bad_outcomes_naming_the_field(server: Server) -> None:
    await marc_journey(server)
    lead = (await server.api("/api/leads", stage="sql"))["leads"][0]["id"]
    assert (await record(server, lead, {"kind": "won"}, 400))["field"] == "value"
    assert (await record(server, lead, {"kind": "lost"}, 400))["field"] == "reason"
    assert (await record(server, lead, ["won"], 400))["field"] == "body"
    assert (await record(server, lead, {"kind": "nope"}, 400))["field"] == "kind"
    assert (await record(server, 999999, {"kind": "contacted"}, 404))["field"] == "person_id"
    assert (await record(server, "x", {"kind": "contacted"}, 400))["field"] == "person_id"
    await record(server, lead, {"kind": "contacted"}, 403, role="marketing")
    assert (await server.api(f"/api/leads/{lead}"))["outcomes"] == []  # nothing was half-recorded


async def test_an_outcome_for_a_merged_away_id_lands_on_the_survivor(server: Server) -> None:
    phone = server.beacon()
    await phone.form("newsletter", email="elodie@example.com")
    laptop = server.beacon()
    await laptop.page("/demo/")
    anonymous = (await server.person_of(laptop))["id"]
    await laptop.form("newsletter", email="elodie@example.com")
    survivor = (await server.person_of(laptop))["id"]
    assert survivor != anonymous
    recorded = await record(server, anonymous, {"kind": "meeting"}, 201)
    assert recorded["id"] == survivor
    assert [o["kind"] for o in (await server.api(f"/api/leads/{survivor}"))["outcomes"]] == ["meeting"]
