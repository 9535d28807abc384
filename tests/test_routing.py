"""Lead routing: the table (price bands, medical vs general), round robin, owners, explicit re-routing."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tracker.domain.facts import Event
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.load import load_programme
from tracker.domain.routing import LeadView, choose_route, owners_of, pick_owner

from .conftest import BASE, SEED_GRID, Beacon, Server

SEED = load_programme(SEED_GRID)
GRID = """
[scores.engagement]
sql = 10
[[rules]]
id = "demo"
score = "engagement"
when = { form = "demo" }
points = 10
"""


def product_view(price: int, line: str = "general") -> Event:
    return Event(1, "page", 0.0, url=f"{BASE}/demo/produits/{line}/x", props={"line": line, "price": price})


def lead(stage: str = "sql", events: tuple[Event, ...] = (), **scores: float) -> LeadView:
    return LeadView(stage, {"engagement": 13.0, "general": 0.0, "medical": 0.0, **scores}, {}, events)


def queue_of(view: LeadView) -> str | None:
    route = choose_route(SEED.routes, view)
    return route.queue if route else None


async def sales_ready(server: Server, email: str, beacon: Beacon | None = None) -> Beacon:
    """A visitor who signs up, then reads enough to become sales-qualified (Marc's 13 points)."""
    b = beacon or server.beacon()
    await b.form("newsletter", email=email)
    await b.download("/demo/files/livre-blanc-a.pdf")
    await b.download("/demo/files/livre-blanc-b.pdf")
    for slug in ("precision", "controle", "service"):
        await b.page(f"/demo/blog/qualite/{slug}")
    return b


async def routing_of(server: Server, beacon: Beacon) -> dict[str, Any]:
    routing: dict[str, Any] = (await server.person_of(beacon))["routing"]
    return routing


# -- the table ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "scores", "queue"),
    [
        ((product_view(24500),), {}, "field-sales"),
        ((product_view(10000),), {}, "field-sales"),
        ((product_view(390),), {}, "call-centre"),
        ((product_view(4900),), {}, "inside-sales"),
        # A bigger deal wins: field sales comes first in the table.
        ((product_view(290, "medical"), product_view(12900, "medical")), {"medical": 9.0}, "field-sales"),
        ((product_view(6900, "medical"),), {"medical": 9.0, "general": 3.0}, "medical"),
        ((), {"medical": 3.0, "general": 3.0}, "inside-sales"),  # undecided: no line leads
        ((), {"medical": 3.0, "general": 6.0}, "inside-sales"),
    ],
)
def test_the_seed_table_routes_by_price_band_then_interest(
    events: tuple[Event, ...], scores: dict[str, float], queue: str
) -> None:
    assert queue_of(lead("sql", events, **scores)) == queue


def test_routes_apply_from_their_stage_on() -> None:
    programme = load_programme(
        GRID
        + """
[[routes]]
id = "early"
queue = "nurture"
stage = "known"
when = { scores = { engagement = "< 5" } }
[[routes]]
id = "late"
queue = "sales"
"""
    )
    assert choose_route(programme.routes, lead("known", engagement=1.0)) == programme.routes[0]
    assert choose_route(programme.routes, lead("mql", engagement=9.0)) is None  # "late" waits for sql
    assert choose_route(programme.routes, lead("sql", engagement=9.0)) == programme.routes[1]
    assert choose_route(programme.routes, lead("anonymous", engagement=1.0)) is None


def test_profile_and_condition_routes() -> None:
    programme = load_programme(
        """
[scores.medical]
[scores.general]
[[routes]]
id = "hospitals"
queue = "key-accounts"
when = { profile = { industry = "~hôpital|clinique" }, condition = "medical + general >= 10" }
"""
    )
    hospital = LeadView("sql", {"medical": 8.0, "general": 2.0}, {"industry": "Clinique du Parc"})
    assert choose_route(programme.routes, hospital) is not None
    assert choose_route(programme.routes, LeadView("sql", {"medical": 8.0}, {"industry": "Clinique"})) is None
    assert choose_route(programme.routes, LeadView("sql", {"medical": 10.0}, {})) is None


@pytest.mark.parametrize(
    ("route", "where"),
    [
        ('queue = "q"', "routes[0].id"),
        ('id = "r"', "routes[r].queue"),
        ('id = "r"\nqueue = "q q"', "routes[r].queue"),
        ('id = "r"\nqueue = "q"\nowners = ["a", "a"]', "routes[r].owners"),
        ('id = "r"\nqueue = "q"\nowners = "a"', "routes[r].owners"),
        ('id = "r"\nqueue = "q"\nstage = "anonymous"', "routes[r].stage"),
        ('id = "r"\nqueue = "q"\nteam = "x"', "routes[r].team"),
        ('id = "r"\nqueue = "q"\nwhen = { score = { engagement = ">= 1" } }', "routes[r].when.score"),
        ('id = "r"\nqueue = "q"\nwhen = { scores = { nope = ">= 1" } }', "routes[r].when.scores.nope"),
        ('id = "r"\nqueue = "q"\nwhen = { scores = { engagement = "~(" } }', "routes[r].when.scores.engagement"),
        (
            'id = "r"\nqueue = "q"\nwhen = { interest = { leads = "nope", over = ["engagement"] } }',
            "routes[r].when.interest.leads",
        ),
        (
            'id = "r"\nqueue = "q"\nwhen = { interest = { leads = "engagement", over = [] } }',
            "routes[r].when.interest.over",
        ),
        (
            'id = "r"\nqueue = "q"\nwhen = { interest = { leads = "engagement", over = ["engagement"] } }',
            "routes[r].when.interest.over",
        ),
        ('id = "r"\nqueue = "q"\nwhen = { event = { props = { price = "~(" } } }', "routes[r].when.event.props.price"),
        ('id = "r"\nqueue = "q"\nwhen = { condition = "engagement >" }', "routes[r].when.condition"),
        ('id = "r"\nqueue = "q"\nwhen = { profile = {} }', "routes[r].when.profile"),
    ],
)
def test_a_bad_route_names_its_key(route: str, where: str) -> None:
    with pytest.raises(ProgrammeError) as caught:
        load_programme(GRID + "[[routes]]\n" + route + "\n")
    assert caught.value.where == where


def test_route_ids_are_unique() -> None:
    with pytest.raises(ProgrammeError) as caught:
        load_programme(GRID + '[[routes]]\nid = "r"\nqueue = "a"\n[[routes]]\nid = "r"\nqueue = "b"\n')
    assert caught.value.where == "routes[r].id"


# -- round robin ----------------------------------------------------------------------------------


def test_round_robin_is_fair_over_100_leads() -> None:
    owners = ("amelie", "bastien", "chloe", "david")
    turn, taken = 0, Counter[str]()
    for _ in range(100):
        owner, turn = pick_owner(owners, set(), turn)
        assert owner is not None
        taken[owner] += 1
    assert taken == {owner: 25 for owner in owners}


def test_round_robin_skips_unavailable_owners_and_waits_when_nobody_is_in() -> None:
    owners = ("amelie", "bastien", "chloe")
    turn, taken = 0, Counter[str]()
    for _ in range(100):
        owner, turn = pick_owner(owners, {"bastien"}, turn)
        assert owner is not None
        taken[owner] += 1
    assert taken == {"amelie": 50, "chloe": 50}
    assert pick_owner(owners, set(owners), 7) == (None, 7)
    assert pick_owner((), set(), 3) == (None, 3)


def test_owners_of_lists_each_owner_with_their_queues() -> None:
    assert owners_of(SEED.routes) == {
        "amelie": ["field-sales"],
        "bastien": ["field-sales"],
        "dr-morel": ["medical"],
        "lucie": ["medical"],
        "chloe": ["inside-sales"],
        "david": ["inside-sales"],
        "emma": ["inside-sales"],
    }


# -- on the server --------------------------------------------------------------------------------


async def test_a_lead_is_routed_when_it_becomes_sales_qualified(server: Server) -> None:
    marc = server.beacon()
    await marc.page("/demo/produits/general/prisme-atelier", price=24500, line="general")
    await marc.form("newsletter", email="marc@example.com")
    assert (await routing_of(server, marc))["queue"] is None  # known, not sales-qualified yet
    await sales_ready(server, "marc@example.com", beacon=marc)
    routing = await routing_of(server, marc)
    assert (routing["queue"], routing["owner"], routing["route"]) == ("field-sales", "amelie", "field-sales")
    assert routing["suggested"] is None
    assert [(h["reason"], h["actor"]) for h in routing["history"]] == [("stage:sql", "system")]
    # Routed once: more scoring keeps the lead where it is.
    await marc.download("/demo/files/livre-blanc-c.pdf")
    assert len((await routing_of(server, marc))["history"]) == 1


async def test_the_lead_list_shows_and_filters_the_routing(server: Server) -> None:
    await sales_ready(server, "petit@example.com")
    small = server.beacon()
    await small.page("/demo/produits/general/prisme-mini", price=390)
    await sales_ready(server, "centre@example.com", beacon=small)
    await sales_ready(server, "autre@example.com")
    leads = (await server.api("/api/leads"))["leads"]
    assert {lead["email"]: lead["routing"] for lead in leads} == {
        "petit@example.com": {"queue": "inside-sales", "owner": "chloe"},
        "centre@example.com": {"queue": "call-centre", "owner": None},
        "autre@example.com": {"queue": "inside-sales", "owner": "david"},
    }
    assert [lead["email"] for lead in (await server.api("/api/leads", queue="call-centre"))["leads"]] == [
        "centre@example.com"
    ]
    assert [lead["email"] for lead in (await server.api("/api/leads", owner="david"))["leads"]] == ["autre@example.com"]


async def test_round_robin_over_100_leads_is_fair_and_skips_an_owner_away(server: Server) -> None:
    await server.load_programme(
        GRID
        + """
[[routes]]
id = "all"
queue = "sales"
owners = ["amelie", "bastien", "chloe", "david"]
"""
    )
    for n in range(60):
        await server.beacon().form("demo", email=f"lead{n}@example.com")
    await set_available(server, "david", False)
    for n in range(60, 100):
        await server.beacon().form("demo", email=f"lead{n}@example.com")
    owners = {entry["owner"]: entry for entry in (await server.api("/api/owners"))["owners"]}
    assert {name: entry["leads"] for name, entry in owners.items()} == {
        "amelie": 15 + 14,
        "bastien": 15 + 13,
        "chloe": 15 + 13,
        "david": 15,
    }
    assert not owners["david"]["available"] and owners["amelie"]["available"]
    assert sum(entry["leads"] for entry in owners.values()) == 100


async def set_available(server: Server, owner: str, available: bool, expect: int = 200) -> dict[str, Any]:
    key = await server.key("sales")
    response = await server.http.put(
        f"/api/owners/{owner}", json={"available": available}, headers={"authorization": f"Bearer {key}"}
    )
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_owners_api_refuses_unknown_owners_and_bad_bodies(server: Server) -> None:
    assert (await set_available(server, "nobody", False, expect=404))["field"] == "owner"
    key = await server.key("sales")
    bad = await server.http.put(
        "/api/owners/chloe", json={"available": "no"}, headers={"authorization": f"Bearer {key}"}
    )
    assert bad.status_code == 400 and bad.json()["field"] == "available"
    entry = await set_available(server, "chloe", False)
    assert entry == {"owner": "chloe", "available": False, "queues": ["inside-sales"], "leads": 0}
    assert (await server.http.put("/api/owners/chloe", json={"available": True})).status_code == 401


async def test_rerouting_is_explicit_and_recorded(server: Server) -> None:
    lead = await sales_ready(server, "clinique@example.com")
    assert (await routing_of(server, lead))["queue"] == "inside-sales"
    for slug in ("medica-dent", "medica-lab-bis"):
        await lead.page(f"/demo/produits/medical/{slug}", line="medical")
    routing = await routing_of(server, lead)
    # Interest moved to the medical line: suggested, never applied by itself.
    assert routing["queue"] == "inside-sales"
    assert routing["suggested"] == {"route": "medical-team", "queue": "medical"}
    person_id = (await server.person_of(lead))["id"]
    moved = await reroute(server, person_id)
    assert moved["changed"] and (moved["routing"]["queue"], moved["routing"]["owner"]) == ("medical", "dr-morel")
    assert moved["routing"]["suggested"] is None
    history = moved["routing"]["history"]
    assert [(h["queue"], h["reason"]) for h in history] == [("medical", "reroute"), ("inside-sales", "stage:sql")]
    assert history[0]["actor"].startswith("key:")
    assert not (await reroute(server, person_id))["changed"]  # already there
    assert (await reroute(server, 999, expect=404))["field"] == "person_id"
    assert (await reroute(server, "x", expect=400))["field"] == "person_id"


async def reroute(server: Server, person_id: int | str, expect: int = 200) -> dict[str, Any]:
    key = await server.key("sales")
    response = await server.http.post(f"/api/leads/{person_id}/reroute", headers={"authorization": f"Bearer {key}"})
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_lead_nobody_takes_stays_unrouted_until_rerouted(server: Server) -> None:
    await server.load_programme(
        GRID
        + """
[scores.fit]
[[rules]]
id = "buyer"
score = "fit"
when = { fields = { job_title = "~achat" } }
points = 5
[[routes]]
id = "buyers"
queue = "buyers"
when = { scores = { fit = ">= 5" } }
"""
    )
    b = server.beacon()
    await b.form("demo", email="x@example.com")
    assert (await routing_of(server, b))["queue"] is None
    await b.form("profile", job_title="Responsable achats")
    assert (await routing_of(server, b))["suggested"] == {"route": "buyers", "queue": "buyers"}
    moved = await reroute(server, (await server.person_of(b))["id"])
    assert moved["changed"] and moved["routing"]["queue"] == "buyers"
