"""/collect end to end: the seed scenarios, live decisions, bad input, CORS, cookies."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import BASE, CHROME, SEED_GRID, Server


async def marc_journey(server: Server) -> list[dict[str, Any]]:
    marc = server.beacon()
    responses = [await marc.page("/demo/")]
    responses.append(await marc.download("/demo/files/livre-blanc-a.pdf"))
    responses.append(await marc.download("/demo/files/livre-blanc-b.pdf"))
    for slug in ("precision", "controle", "service"):
        responses.append(await marc.page(f"/demo/blog/qualite/{slug}"))
    await marc.form("popup-demo", email="marc@example.com", company="Atelier Marc")
    lead = await server.person_of(marc)
    assert lead["scores"]["engagement"] == 13
    assert lead["stage"] == "sql"
    return responses


async def test_marc_reaches_sales_at_13(server: Server) -> None:
    await marc_journey(server)


async def test_elodie_stays_in_nurture_at_5(server: Server) -> None:
    elodie = server.beacon()
    await elodie.download("/demo/files/livre-blanc-b.pdf")
    await elodie.form("newsletter", email="elodie@example.com")
    lead = await server.person_of(elodie)
    assert lead["scores"]["engagement"] == 5
    assert lead["stage"] == "known"


async def test_capucine_reaches_sales_at_18(server: Server) -> None:
    capucine = server.beacon()
    await capucine.form("newsletter", email="capucine@example.com")
    await capucine.download("/demo/files/livre-blanc-c.pdf")
    for slug in ("a", "b", "c"):
        await capucine.page(f"/demo/blog/qualite/{slug}")
    lead = await server.person_of(capucine)
    assert lead["scores"]["engagement"] == 18
    assert lead["stage"] == "sql"
    stages = {row["stage"]: row for row in lead["stages"]}
    # Each transition is recorded once, with the event that caused it.
    assert list(stages) == ["known", "mql", "sql"]
    assert stages["mql"]["event_id"] == stages["sql"]["event_id"]  # white paper C jumps 0 → 12


async def test_job_offers_subtract_and_demo_form_adds(server: Server) -> None:
    b = server.beacon()
    await b.page("/demo/emplois")
    await b.form("demo", email="jo@example.com", job_title="Responsable achats")
    lead = await server.person_of(b)
    assert lead["scores"]["engagement"] == 15  # −15 + 30
    assert lead["scores"]["fit"] == 10  # job title matches achat|purchasing
    assert lead["profile"]["job_title"] == "Responsable achats"
    rules = {row["rule_id"]: row for row in lead["ledger"]}
    assert rules["job-offers"]["points"] == -15 and rules["job-offers"]["after"] == -15
    assert rules["demo-request"]["before"] == -15 and rules["demo-request"]["after"] == 15


async def test_secret_form_fields_are_never_stored(server: Server) -> None:
    b = server.beacon()
    await b.form("login", email="s@example.com", password="hunter2", csrf_token="t0k", cc_number="4111")
    lead = await server.person_of(b)
    assert lead["timeline"][0]["props"] == {"email": "s@example.com"}
    assert lead["profile"] == {}


async def test_two_interest_scores(server: Server) -> None:
    b = server.beacon()
    await b.page("/demo/produits/medical/bioprint-x", line="medical", price=24900)
    await b.page("/demo/produits/medical/dental-s", line="medical", price=8900)
    await b.page("/demo/produits/general/maker-one", line="general", price=450)
    await b.form("newsletter", email="m@example.com")
    lead = await server.person_of(b)
    assert lead["scores"]["medical"] == 6
    assert lead["scores"]["general"] == 3
    assert lead["scores"]["fit"] == 5  # viewed a printer priced >= 10,000


async def test_decay_halves_engagement_after_30_quiet_days(server: Server) -> None:
    b = server.beacon()
    await b.download("/demo/files/livre-blanc-c.pdf")
    await b.form("newsletter", email="decay@example.com")
    server.clock.advance(31 * 86400)
    lead = await server.person_of(b)
    assert lead["scores"]["engagement"] == 6  # read lazily, no cron
    assert lead["stage"] == "sql"  # stages never go back
    await b.page("/demo/blog/qualite/a")
    lead = await server.person_of(b)
    assert lead["scores"]["engagement"] == 8
    decay_rows = [row for row in lead["ledger"] if row["op"] == "decay"]
    assert decay_rows and decay_rows[0]["before"] == 12 and decay_rows[0]["after"] == 6


async def test_visits_count_after_30_minutes_of_silence(server: Server) -> None:
    b = server.beacon()
    await b.page("/demo/")
    server.clock.advance(10 * 60)
    await b.page("/demo/blog/")
    server.clock.advance(31 * 60)
    await b.page("/demo/")
    lead = await server.person_of(b)
    assert [e["visit"] for e in reversed(lead["timeline"])] == [1, 1, 2]
    assert lead["devices"][0]["visits"] == 2


async def test_response_sets_a_first_party_cookie(server: Server) -> None:
    # httpx's own user agent is an HTTP client's, which is a bot's: these are a browser's requests.
    browser = {"user-agent": CHROME}
    response = await server.http.post(
        "/collect", json={"site": "demo", "events": [{"type": "page", "url": BASE + "/demo/"}]}, headers=browser
    )
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"tk_vid={response.json()['vid']};")
    for attribute in ("HttpOnly", "SameSite=lax", "Max-Age=34214400", "Path=/"):
        assert attribute.lower() in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http here; https responses add Secure
    secure = await server.http.post(
        "https://shop.test/collect",
        json={"site": "demo", "events": [{"type": "page", "url": BASE + "/demo/"}]},
        headers=browser,
    )
    assert "secure" in secure.headers["set-cookie"].lower()


async def test_a_returning_device_keeps_its_token_without_re_signing(server: Server, monkeypatch: Any) -> None:
    browser = {"user-agent": CHROME}
    page = {"type": "page", "url": BASE + "/demo/"}
    first = await server.http.post("/collect", json={"site": "demo", "events": [page]}, headers=browser)
    token = first.json()["vid"]

    def no_signing(site_key: str, visitor_id: str) -> str:
        raise AssertionError("a verified token was signed again")

    monkeypatch.setattr(server.runtime.tokens, "sign", no_signing)
    server.clock.advance(60)
    again = await server.http.post("/collect", json={"site": "demo", "vid": token, "events": [page]}, headers=browser)
    assert again.status_code == 200 and again.json()["vid"] == token


async def test_text_plain_body_from_send_beacon_is_accepted(server: Server) -> None:
    response = await server.http.post(
        "/collect",
        content=b'{"site":"demo","events":[{"type":"page","url":"http://shop.test/demo/"}]}',
        headers={"content-type": "text/plain;charset=UTF-8", "user-agent": CHROME},
    )
    assert response.status_code == 200 and response.json()["vid"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"not json", 400, "body"),
        (b"[]", 400, "body"),
        (b'{"events": [{"type": "page"}]}', 400, "site"),
        (b'{"site": "nope", "events": [{"type": "page"}]}', 404, "site"),
        (b'{"site": "demo"}', 400, "events"),
        (b'{"site": "demo", "events": []}', 400, "events"),
        (b'{"site": "demo", "events": {"type": "page"}}', 400, "events"),
        (b'{"site": "demo", "vid": 12, "events": [{"type": "page"}]}', 400, "vid"),
        (b'{"site": "demo", "ctx": [], "events": [{"type": "page"}]}', 400, "ctx"),
        (b'{"site": "demo", "events": [{"type": "warp"}]}', 400, "events"),
    ],
)
async def test_bad_requests_name_the_field_and_store_nothing(
    server: Server, body: bytes, status: int, field: str
) -> None:
    response = await server.http.post("/collect", content=body)
    assert response.status_code == status
    assert response.json()["field"] == field
    assert response.json()["message"]
    assert await server.count("events") == 0


async def test_too_many_events_and_too_large_bodies_are_refused(server: Server) -> None:
    events = [{"type": "page", "url": BASE + "/demo/"}] * 51
    response = await server.http.post("/collect", json={"site": "demo", "events": events})
    assert response.status_code == 400 and response.json()["field"] == "events"
    huge = {"site": "demo", "events": [{"type": "custom", "name": "x", "props": {"k": "v" * 900}}] * 50}
    huge["events"][0]["props"]["pad"] = "y" * 30_000  # type: ignore[index]
    response = await server.http.post("/collect", json=huge)
    assert response.status_code == 413 and response.json()["field"] == "body"
    assert await server.count("events") == 0


async def test_valid_events_are_kept_and_bad_ones_listed(server: Server) -> None:
    b = server.beacon()
    data = await b.send(
        {"type": "page", "url": BASE + "/demo/"},
        {"type": "custom"},
        {"type": "engaged", "props": {"seconds": -3}},
        {"type": "close", "props": {}},
        {"type": "custom", "name": "x", "props": {"a": {"b": {"c": {"d": 1}}}}},
        {"type": "page", "url": 42},
        {"type": "download", "url": BASE + "/demo/files/livre-blanc-a.pdf"},
    )
    assert [(r["index"], r["field"]) for r in data["rejected"]] == [
        (1, "events[1].name"),
        (2, "events[2].props.seconds"),
        (3, "events[3].props.campaign"),
        (4, "events[4].props.a.b.c"),
        (5, "events[5].url"),
    ]
    assert await server.count("events") == 2
    assert (await server.person_of(b))["scores"]["engagement"] == 2


async def test_events_of_the_wrong_json_type_are_listed_never_a_500(server: Server) -> None:
    b = server.beacon()
    # Was a 500 (unhashable type in validation), and the kept-alive connection was closed.
    alone = await b.send({"type": ["page"]}, expect=400)
    assert (alone["field"], alone["rejected"][0]["field"]) == ("events", "events[0].type")
    data = await b.send(
        {"type": {"a": 1}},
        {"type": "page", "url": BASE + "/demo/\x00"},  # was a 500 on PostgreSQL, which cannot store NUL
        {"type": "form", "props": {"e\x00mail": "x@example.com"}},
        {"type": "custom", "name": "n", "t": "yesterday"},
        {"type": "custom", "name": "n", "props": []},
        {"type": "page", "url": BASE + "/demo/"},
    )
    assert [(r["index"], r["field"]) for r in data["rejected"]] == [
        (0, "events[0].type"),
        (1, "events[1].url"),
        (2, "events[2].props"),
        (3, "events[3].t"),
        (4, "events[4].props"),
    ]
    assert all(r["message"] for r in data["rejected"])
    assert await server.count("events") == 1
    refused = await b.send({"type": "page", "url": BASE + "/demo/"}, sent_at="now", expect=400)
    assert refused["field"] == "sent_at"


async def test_nothing_is_stored_twice_when_a_request_fails(server: Server) -> None:
    b = server.beacon()
    await b.page("/demo/")
    await b.send({"type": "page", "url": BASE + "/demo/"}, vid=12, expect=400)
    assert await server.count("events") == 1


async def test_clock_skew_is_corrected_from_sent_at(server: Server) -> None:
    b = server.beacon()
    client_now_ms = (server.clock.now + 3600) * 1000  # the visitor's clock is an hour ahead
    await b.send(
        {"type": "page", "url": BASE + "/demo/", "t": client_now_ms - 5000},
        {"type": "page", "url": BASE + "/demo/tarifs", "t": client_now_ms},
        sent_at=client_now_ms,
    )
    lead = await server.api(f"/api/leads/{(await server.api(f'/api/visitors/{b.vid}'))['person_id']}")
    times = sorted(e["ts"] for e in lead["timeline"])
    assert times == ["2025-12-31T23:59:55Z", "2026-01-01T00:00:00Z"]


async def test_bots_are_never_stored_or_scored(server: Server) -> None:
    bot = server.beacon(user_agent="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    data = await bot.download("/demo/files/livre-blanc-c.pdf")
    assert data["ignored"] == "bot" and data["decisions"] == [] and data["vid"] is None
    assert await server.count("events") == 0


async def test_cors_per_site(server: Server) -> None:
    await server.load_programme(SEED_GRID, site="acme", origins=["https://www.acme.fr"])
    event = {"type": "page", "url": "https://www.acme.fr/"}
    allowed = await server.http.post(
        "/collect", json={"site": "acme", "events": [event]}, headers={"origin": "https://www.acme.fr"}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://www.acme.fr"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    refused = await server.http.post(
        "/collect", json={"site": "acme", "events": [event]}, headers={"origin": "https://evil.example"}
    )
    assert refused.status_code == 403 and refused.json()["field"] == "origin"
    assert "access-control-allow-origin" not in refused.headers
    preflight = await server.http.options(
        "/collect", headers={"origin": "https://www.acme.fr", "access-control-request-method": "POST"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://www.acme.fr"
    denied = await server.http.options("/collect", headers={"origin": "https://evil.example"})
    assert denied.status_code == 403
    # An Origin that is no URL at all (found by the fuzzer) is refused like any foreign one.
    broken = await server.http.post(
        "/collect", json={"site": "acme", "events": [event]}, headers={"origin": "http://[::1"}
    )
    assert broken.status_code == 403 and broken.json()["field"] == "origin"
    assert (await server.http.options("/collect", headers={"origin": "http://[::1"})).status_code == 403


async def test_unknown_routes_answer_json(server: Server) -> None:
    response = await server.http.get("/nope")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    response = await server.http.get("/collect")
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"


def campaigns(data: dict[str, Any]) -> list[str]:
    return [d["campaign"] for d in data["decisions"]]


async def test_the_event_that_crosses_the_threshold_gets_the_popup(server: Server) -> None:
    responses = await marc_journey(server)
    # home, A (2), B (7), blog 9, blog 11, blog 13: only the crossing response and after carry it.
    assert [("sales-popup" in campaigns(r)) for r in responses] == [False] * 5 + [True]
    popup = next(d for d in responses[-1]["decisions"] if d["campaign"] == "sales-popup")
    assert popup["kind"] == "popup" and popup["trigger"] == {"on": "immediate"}
    # The demo site is French: every field carries its French label to the beacon.
    assert popup["form"]["fields"] == [
        {"name": "email", "label": "E-mail professionnel"},
        {"name": "company", "label": "Entreprise"},
        {"name": "job_title", "label": "Fonction"},
    ]


async def test_decisions_never_carry_personal_data(server: Server) -> None:
    b = server.beacon()
    await b.form("demo", email="secret.person@example.com", company="Secret Corp", phone="0600000000")
    data = await b.page("/demo/")
    text = str(data["decisions"])
    assert data["decisions"] and "secret" not in text.lower() and "0600000000" not in text


async def test_close_is_remembered_and_served_decisions_are_logged(server: Server) -> None:
    b = server.beacon()
    await b.download("/demo/files/livre-blanc-c.pdf")
    first = await b.page("/demo/")
    assert "sales-popup" in campaigns(first)
    await b.send({"type": "impression", "url": BASE + "/demo/", "props": {"campaign": "sales-popup"}})
    await b.send({"type": "close", "url": BASE + "/demo/", "props": {"campaign": "sales-popup"}})
    server.clock.advance(2 * 3600)  # a new visit: "session" frequency alone would show it again
    assert "sales-popup" not in campaigns(await b.page("/demo/"))
    server.clock.advance(31 * 86400)  # after_close = 30d
    await b.download("/demo/files/livre-blanc-c.pdf")
    await b.page("/demo/blog/qualite/a")
    await b.page("/demo/blog/qualite/b")
    await b.page("/demo/blog/qualite/c")  # decayed 6 + 6 = 12 again
    assert "sales-popup" in campaigns(await b.page("/demo/"))
    await b.form("newsletter", email="closer@example.com")
    lead = await server.person_of(b)
    actions = {(row["campaign"], row["action"]) for row in lead["decisions"]}
    assert {("sales-popup", "served"), ("sales-popup", "impression"), ("sales-popup", "close")} <= actions


async def test_once_per_session_frequency(server: Server) -> None:
    b = server.beacon()
    await b.download("/demo/files/livre-blanc-c.pdf")
    await b.send({"type": "impression", "url": BASE + "/demo/", "props": {"campaign": "sales-popup"}})
    assert "sales-popup" not in campaigns(await b.page("/demo/blog/"))
    server.clock.advance(31 * 60)
    assert "sales-popup" in campaigns(await b.page("/demo/blog/"))


async def test_feedback_for_unknown_campaigns_is_ignored(server: Server) -> None:
    b = server.beacon()
    for n in range(5):
        await b.send({"type": "impression", "url": BASE + "/demo/", "props": {"campaign": f"forged-{n}"}})
    await b.form("newsletter", email="forger@example.com")
    lead = await server.person_of(b)
    assert lead["decisions"] == []
    assert await server.count("events") == 6  # the events themselves are kept


async def test_undecided_interest_offers_both_white_papers(server: Server) -> None:
    b = server.beacon()
    await b.download("/demo/files/livre-blanc-c.pdf")  # engagement 12
    await b.page("/demo/produits/medical/bioprint-x")
    data = await b.page("/demo/produits/general/maker-one")  # medical 3, general 3
    assert "undecided-interest" in campaigns(data)
    offer = next(d for d in data["decisions"] if d["campaign"] == "undecided-interest")
    assert offer["kind"] == "content" and offer["slot"] == "offer"
    await b.page("/demo/produits/medical/dental-s")
    data = await b.page("/demo/produits/medical/bioprint-x")  # medical 9 vs general 3: decided
    assert "undecided-interest" not in campaigns(data)
    assert "medical-chat" in campaigns(data)
