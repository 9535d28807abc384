"""Outcomes of leads (tracker.domain.outcomes, tracker.services.outcomes) and the sales API that
records them: what is valid, the errors naming their field, the timeline event, the webhook."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from tracker.domain.outcomes import Outcome, OutcomeError, check_outcome
from tracker.services.rebuild import rebuild_scores

from .conftest import BASE, SEED_GRID, Server
from .test_ingest import marc_journey
from .test_segment import post as segment
from .test_webhooks import subscribe


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


async def test_two_outcomes_recorded_at_once_on_one_lead_both_land_each_audited(server: Server) -> None:
    await marc_journey(server)
    lead = (await server.api("/api/leads", stage="sql"))["leads"][0]["id"]
    first, second = await asyncio.gather(
        record(server, lead, {"kind": "contacted"}, 201), record(server, lead, {"kind": "meeting"}, 201)
    )
    outcomes = (await server.api(f"/api/leads/{lead}"))["outcomes"]
    assert sorted((o["kind"], o["event_id"]) for o in outcomes) == sorted(
        [("contacted", first["event_id"]), ("meeting", second["event_id"])]
    )
    audited = await server.runtime.store.read(
        lambda q: q.conn.fetchall("SELECT action FROM audit_log WHERE action = 'lead_outcome'")
    )
    assert len(audited) == 2


# The seed programme with goals, engagement reset on lost, and a grade.
GOALS_GRID = (
    SEED_GRID.replace("mql = 8\n", 'mql = 8\non_outcome = { lost = "=0" }\n', 1)
    + """
[goals]
won = ["Order Completed"]
lost = ["Deal Lost"]
meeting = [{ campaign = "sales-popup" }]
"""
)


async def outbox(server: Server) -> list[tuple[str, dict[str, Any]]]:
    rows = await server.runtime.store.read(
        lambda q: q.conn.fetchall("SELECT event, data FROM webhook_outbox ORDER BY id")
    )
    return [(row["event"], orjson.loads(row["data"])) for row in rows]


async def test_a_segment_track_named_as_a_goal_records_the_outcome_in_its_unit(server: Server) -> None:
    await server.load_programme(GOALS_GRID)
    await subscribe(server, "https://crm.example/hook", "person.outcome")
    await segment(server, "/v1/identify", {"userId": "crm-9", "traits": {"email": "ines@example.com"}})
    server.clock.advance(60)
    track = {"userId": "crm-9", "event": "order_completed", "properties": {"revenue": 1800, "order": "A-17"}}
    answer = await segment(server, "/v1/track", track)
    assert answer.status_code == 200, answer.text
    lead = (await server.api("/api/leads", q="ines@example.com"))["leads"][0]
    assert lead["outcome"]["kind"] == "won" and lead["outcome"]["value"] == 1800.0
    story = await server.api(f"/api/leads/{lead['id']}")
    # The track first, then the outcome at its time, as the console's outcomes are stored.
    assert [(e["type"], e["name"]) for e in story["timeline"][:2]] == [
        ("outcome", "won"),
        ("custom", "order_completed"),
    ]
    assert story["timeline"][0]["ts"] == story["timeline"][1]["ts"]
    assert story["outcomes"][0]["actor"] == "goal:Order Completed"
    assert await outbox(server) == [
        (
            "person.outcome",
            {"kind": "won", "value": 1800.0, "reason": None, "event_id": story["outcomes"][0]["event_id"]},
        )
    ]
    # The same message again is not scored twice, nor is its goal reached twice.
    await segment(server, "/v1/track", {**track, "messageId": "m-1"})
    await segment(server, "/v1/track", {**track, "messageId": "m-1"})
    assert len((await server.api(f"/api/leads/{lead['id']}"))["outcomes"]) == 2


async def test_goals_reached_from_the_beacon_a_custom_event_and_a_campaign_conversion(server: Server) -> None:
    await server.load_programme(GOALS_GRID)
    await marc_journey(server)
    marc = (await server.api("/api/leads", stage="sql"))["leads"][0]["id"]
    # Marc's own browser would carry his token; a fresh one identifying as him joins his history.
    browser = server.beacon()
    await browser.form("newsletter", email="marc@example.com")
    await browser.send({"type": "conversion", "url": BASE + "/demo/", "props": {"campaign": "sales-popup"}})
    server.clock.advance(60)
    await browser.send({"type": "custom", "name": "Deal Lost", "url": BASE + "/demo/", "props": {"why": "x"}})
    story = await server.api(f"/api/leads/{marc}")
    assert [(o["kind"], o["reason"], o["actor"]) for o in story["outcomes"]] == [
        ("meeting", None, "goal:campaign:sales-popup"),
        ("lost", "Deal Lost", "goal:Deal Lost"),  # no reason sent: the goal's name says why
    ]
    assert story["scores"]["engagement"] == 0  # the lost goal reset it, in the same request


async def test_a_lost_outcome_resets_engagement_and_a_rebuild_agrees(server: Server) -> None:
    await server.load_programme(GOALS_GRID)
    await marc_journey(server)
    lead = (await server.api("/api/leads", stage="sql"))["leads"][0]
    server.clock.advance(60)
    await record(server, lead["id"], {"kind": "lost", "reason": "budget"}, 201)
    story = await server.api(f"/api/leads/{lead['id']}")
    assert story["scores"]["engagement"] == 0 and story["stage"] == "sql"  # stages never go back
    reset = story["ledger"][0]
    assert (reset["rule_id"], reset["op"], reset["points"], reset["after"]) == ("outcome:lost", "set", -13.0, 0.0)
    listed = (await server.api("/api/leads", stage="sql"))["leads"][0]
    assert listed["scores"]["engagement"] == 0  # the copy the list sorts on was rewritten too
    live = [(row["rule_id"], row["points"], row["after"]) for row in reversed(story["ledger"])]

    async def rebuilt(q: Any) -> list[tuple[str, float, float]]:
        person = await q.person(lead["id"], for_update=True)
        await rebuild_scores(q, server.runtime.sites.get("demo").programme.scoring, person)
        return [(row["rule_id"], row["points"], row["after"]) for row in reversed(await q.ledger_of(lead["id"], 100))]

    assert await server.runtime.store.write(rebuilt) == live
