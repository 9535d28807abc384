"""The sales API: keys, filters, sorting and one lead's whole story."""

from __future__ import annotations

import pytest

from .conftest import SEED_GRID, Server


async def make_leads(server: Server) -> None:
    for email, papers in (
        ("marc@example.com", ["a", "b"]),
        ("elodie@example.com", ["b"]),
        ("capucine@example.com", ["c", "a"]),
    ):
        b = server.beacon()
        for paper in papers:
            await b.download(f"/demo/files/livre-blanc-{paper}.pdf")
        await b.form("newsletter", email=email)
    await server.beacon().page("/demo/")  # an anonymous visitor is not a lead


async def test_leads_are_sorted_by_the_primary_score(server: Server) -> None:
    await make_leads(server)
    data = await server.api("/api/leads")
    assert data["score"] == "engagement"
    assert [(lead["email"], lead["scores"]["engagement"], lead["stage"]) for lead in data["leads"]] == [
        ("capucine@example.com", 14, "sql"),
        ("marc@example.com", 7, "known"),
        ("elodie@example.com", 5, "known"),
    ]


async def test_lead_filters(server: Server) -> None:
    await make_leads(server)
    assert [lead["email"] for lead in (await server.api("/api/leads", stage="sql"))["leads"]] == [
        "capucine@example.com"
    ]
    assert [lead["email"] for lead in (await server.api("/api/leads", min_score=6))["leads"]] == [
        "capucine@example.com",
        "marc@example.com",
    ]
    assert len((await server.api("/api/leads", stage="anonymous"))["leads"]) == 1
    assert (await server.api("/api/leads", since="2030-01-01T00:00:00Z"))["leads"] == []
    assert len((await server.api("/api/leads", since="2025-12-31"))["leads"]) == 3
    assert len((await server.api("/api/leads", limit=1))["leads"]) == 1


async def test_min_score_filters_on_decayed_values(server: Server) -> None:
    await make_leads(server)
    server.clock.advance(31 * 86400)
    data = await server.api("/api/leads", min_score=6)
    assert [(lead["email"], lead["scores"]["engagement"]) for lead in data["leads"]] == [("capucine@example.com", 7)]


async def test_bad_parameters_name_the_field(server: Server) -> None:
    for params, field in (
        ({"stage": "hot"}, "stage"),
        ({"min_score": "lots"}, "min_score"),
        ({"limit": "0"}, "limit"),
        ({"since": "yesterday"}, "since"),
        ({"score": "nope"}, "score"),
        ({"queue": "a\x00b"}, "queue"),  # PostgreSQL refuses NUL even in a comparison: was a 500 there
        ({"owner": "\x00"}, "owner"),
    ):
        data = await server.api("/api/leads", expect=400, **params)
        assert data["field"] == field, params
    assert (await server.api("/api/leads/abc", expect=400))["field"] == "person_id"
    assert (await server.api("/api/leads/1252617545525353335462289211392", expect=400))["field"] == "person_id"
    assert (await server.api("/api/leads/²", expect=400))["field"] == "person_id"
    assert (await server.api("/api/leads/999", expect=404))["field"] == "person_id"
    assert (await server.api("/api/visitors/forged", expect=404))["field"] == "token"


async def test_lead_detail_explains_the_score(server: Server) -> None:
    b = server.beacon()
    await b.download("/demo/files/livre-blanc-b.pdf")
    await b.form("demo", email="elodie@example.com", company="Clinique du Parc", job_title="Acheteuse")
    lead = await server.person_of(b)
    assert lead["profile"] == {"company": "Clinique du Parc", "job_title": "Acheteuse"}
    assert [s["stage"] for s in lead["stages"]] == ["known", "mql", "sql"]
    ledger = sorted((row["rule_id"], row["points"], row["before"], row["after"]) for row in lead["ledger"])
    assert ledger == [("demo-request", 30.0, 5.0, 35.0), ("fit-buyer", 10.0, 0.0, 10.0), ("wp-b", 5.0, 0.0, 5.0)]
    assert all(row["event_id"] for row in lead["ledger"])
    assert {e["type"] for e in lead["timeline"]} == {"download", "form"}
    assert lead["devices"][0]["type"] == "desktop" and lead["devices"][0]["browser"] == "Chrome"


async def test_keys_are_required_scoped_and_role_checked(server: Server) -> None:
    await make_leads(server)
    assert (await server.http.get("/api/leads")).status_code == 401
    bad = await server.http.get("/api/leads", headers={"authorization": "Bearer tk_not-a-key"})
    assert bad.status_code == 401 and bad.json()["field"] == "authorization"
    marketing = await server.api("/api/leads", expect=403, role="marketing")
    assert "sales" in marketing["message"]
    # A key of another site sees none of this site's leads.
    await server.load_programme(SEED_GRID, site="other")
    other = await server.key("sales", site="other")
    response = await server.http.get("/api/leads", headers={"authorization": f"Bearer {other}"})
    assert response.json()["leads"] == []
    demo_lead = (await server.api("/api/leads"))["leads"][0]["id"]
    response = await server.http.get(f"/api/leads/{demo_lead}", headers={"authorization": f"Bearer {other}"})
    assert response.status_code == 404


async def test_keys_are_stored_hashed(server: Server) -> None:
    key = await server.key()

    async def stored(q):  # type: ignore[no-untyped-def]
        return [row["hash"] for row in await q.conn.fetchall("SELECT hash FROM api_keys")]

    hashes = await server.runtime.store.read(stored)
    assert key not in hashes and len(hashes[0]) == 64


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/api/leads/{n}", "person_id"),
        ("POST", "/api/leads/{n}/reroute", "person_id"),
        ("GET", "/api/people/{n}/export", "person_id"),  # "²" was a 500
        ("DELETE", "/api/people/{n}", "person_id"),
        ("GET", "/api/ignored-traffic?days={n}", "days"),  # "²" was a 500
        ("GET", "/api/leads?limit={n}", "limit"),
        ("GET", "/api/webhooks/deliveries?limit={n}", "limit"),
        ("GET", "/api/webhooks/deliveries?before={n}", "before"),
        ("DELETE", "/api/webhooks/{n}", "webhook_id"),
        ("POST", "/api/webhooks/deliveries/{n}/resend", "delivery_id"),
    ],
)
async def test_every_integer_parameter_is_read_by_one_parser(
    server: Server, method: str, path: str, field: str
) -> None:
    admin = await server.key("admin")  # admin keys may call every route
    for number in ("²", "١", "-1", "1.0", "9" * 19):
        response = await server.http.request(
            method, path.format(n=number), headers={"authorization": f"Bearer {admin}"}
        )
        assert response.status_code == 400, (number, response.text)
        assert response.json()["field"] == field
