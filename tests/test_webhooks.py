"""Webhooks: subscriptions, what a receiver on loopback gets, erasure, and `tracker webhooks test`."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner

from tracker.app import create_app
from tracker.cli import main
from tracker.config import Settings
from tracker.services.outbox import EVENTS, verify

from .conftest import BASE, Clock, Server
from .test_routing import sales_ready


class Receiver:
    """A CRM's webhook endpoint on loopback: keeps what it receives, answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/hooks/tracker"

    def __enter__(self) -> Receiver:
        # shutdown() waits for the loop to look again: every 0.5 s by default, paid by each test.
        threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()

    def events(self) -> list[str]:
        return [headers["tracker-event"] for headers, _ in self.received]

    def payloads(self) -> list[dict[str, Any]]:
        return [orjson.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
async def hooked(tmp_path: Path, clock: Clock, database: str | None) -> AsyncIterator[Server]:
    """A server whose deliverer only runs when a test says so (no polling), 3 attempts 10 s apart."""
    settings = Settings(
        data_dir=tmp_path,
        db=database,
        demo=True,
        secret="test-secret",
        webhook_attempts=3,
        webhook_backoff=10.0,
        webhook_poll=0,
    )
    app = create_app(settings, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield Server(app, http, clock)


async def admin(server: Server, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
    key = await server.key("admin")
    response = await server.http.request(method, path, headers={"authorization": f"Bearer {key}"}, **kwargs)
    assert response.status_code == expect, response.text
    return response.json()


async def subscribe(server: Server, url: str, *events: str) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, **({"events": list(events)} if events else {})}
    created: dict[str, Any] = await admin(server, "POST", "/api/webhooks", 201, json=body)
    return created


async def test_subscriptions_are_managed_by_admins_and_never_show_the_secret_again(server: Server) -> None:
    created = await subscribe(server, "https://crm.example.com/hooks", "person.routed", "person.merged")
    assert created["secret"].startswith("whsec_") and created["events"] == ["person.routed", "person.merged"]
    listed = (await admin(server, "GET", "/api/webhooks"))["webhooks"]
    assert listed == [{key: value for key, value in created.items() if key != "secret"}]
    everything = await subscribe(server, "http://127.0.0.1:9/x")
    assert everything["events"] == list(EVENTS)
    await admin(server, "DELETE", f"/api/webhooks/{created['id']}")
    assert [hook["id"] for hook in (await admin(server, "GET", "/api/webhooks"))["webhooks"]] == [everything["id"]]
    assert (await admin(server, "DELETE", f"/api/webhooks/{created['id']}", 404))["field"] == "webhook_id"
    assert (await server.api("/api/webhooks", expect=403, role="sales"))["field"] == "authorization"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://crm.example.com/"}, "url"),
        ({"url": "https:///nohost"}, "url"),
        ({"url": "https://crm.example.com/a b"}, "url"),
        ({"url": 7}, "url"),
        ({"url": "https://crm.example.com/", "events": ["person.deleted"]}, "events"),
        ({"url": "https://crm.example.com/", "events": []}, "events"),
        (["https://crm.example.com/"], "body"),
    ],
)
async def test_a_bad_subscription_names_the_field(server: Server, body: Any, field: str) -> None:
    assert (await admin(server, "POST", "/api/webhooks", 400, json=body))["field"] == field


# The webhook contract: CRMs map these fields.  The sales API's lead response is the same read
# model (services.leads.lead_story), so a field added there changes this contract too: this test
# makes that a decision (update the set and the README's webhook section), never a side effect.
WEBHOOK_PERSON_FIELDS = {
    "id",
    "email",
    "user_id",
    "stage",
    "scores",
    "grade",
    "profile",
    "profile_history",
    "created_at",
    "identified_at",
    "last_seen_at",
    "resolved_from",
    "merged_ids",
    "routing",
    "stages",
    "ledger",
    "timeline",
    "decisions",
    "devices",
    "outcomes",
    "account",
}
# What a person.outcome announcement's data carries (the person is the whole story, as above).
OUTCOME_DATA_FIELDS = {"kind", "value", "reason", "event_id"}


async def test_a_receiver_on_loopback_gets_signed_payloads_with_the_whole_story(
    hooked: Server, receiver: Receiver
) -> None:
    server = hooked
    secret = (await subscribe(server, receiver.url))["secret"]
    marc = await sales_ready(server, "marc@example.com")
    assert receiver.received == []  # nothing is sent from the request that made the change
    await server.app.state.deliverer.run_once()
    assert receiver.events() == [
        "person.identified",
        "score.threshold_crossed",
        "person.stage_changed",
        "score.threshold_crossed",
        "person.stage_changed",
        "person.routed",
    ]
    for headers, body in receiver.received:
        assert verify(secret, headers["tracker-signature"], body, server.clock())
        assert not verify("whsec_other", headers["tracker-signature"], body, server.clock())
        assert headers["content-type"] == "application/json" and headers["tracker-attempt"] == "1"
    payloads = receiver.payloads()
    assert [p["data"].get("level") or p["data"].get("stage") for p in payloads[1:5]] == ["mql", "mql", "sql", "sql"]
    assert {int(headers["tracker-delivery"]) for headers, _ in receiver.received} == {p["id"] for p in payloads}
    routed = payloads[-1]
    assert routed["site"] == "demo" and routed["data"] == {
        "route": "inside-sales",
        "queue": "inside-sales",
        "owner": "chloe",
        "reason": "stage:sql",
    }
    person = routed["person"]
    assert set(person) == WEBHOOK_PERSON_FIELDS
    assert person == await server.person_of(marc)
    assert (person["email"], person["stage"], person["scores"]["engagement"]) == ("marc@example.com", "sql", 13)
    assert [s["stage"] for s in person["stages"]] == ["known", "mql", "sql"]
    assert len(person["ledger"]) == 5 and len(person["timeline"]) == 6
    await server.app.state.deliverer.run_once()
    assert len(receiver.received) == 6  # delivered once


async def test_a_merge_is_announced_and_earlier_announcements_follow_the_survivor(
    server: Server, receiver: Receiver
) -> None:
    await subscribe(server, receiver.url, "person.merged", "score.threshold_crossed")
    known = server.beacon()
    await known.form("newsletter", email="elodie@example.com")
    laptop = server.beacon()
    await laptop.download("/demo/files/livre-blanc-c.pdf")  # 12, anonymous: crosses mql and sql
    await laptop.form("newsletter", email="elodie@example.com")
    await server.app.state.deliverer.run_once()
    elodie = await server.person_of(known)
    assert receiver.events() == ["score.threshold_crossed", "score.threshold_crossed", "person.merged"]
    assert {p["person"]["id"] for p in receiver.payloads()} == {elodie["id"]}
    assert receiver.payloads()[-1]["data"]["merged_from"] == elodie["merged_ids"][0]


async def test_campaign_conversions_are_announced(server: Server, receiver: Receiver) -> None:
    await subscribe(server, receiver.url, "campaign.converted")
    b = server.beacon()
    await b.send({"type": "conversion", "url": "http://shop.test/demo/", "props": {"campaign": "sales-popup"}})
    await b.send({"type": "conversion", "url": "http://shop.test/demo/", "props": {"campaign": "forged"}})
    await server.app.state.deliverer.run_once()
    assert [p["data"]["campaign"] for p in receiver.payloads()] == ["sales-popup"]


async def test_an_outcome_is_announced_with_its_fields(server: Server, receiver: Receiver) -> None:
    await subscribe(server, receiver.url, "person.outcome")
    marc = await sales_ready(server, "marc@example.com")
    person_id = (await server.person_of(marc))["id"]
    key = await server.key("sales")
    body = {"kind": "lost", "reason": "chose a competitor"}
    response = await server.http.post(
        f"/api/leads/{person_id}/outcome", json=body, headers={"authorization": f"Bearer {key}"}
    )
    assert response.status_code == 201, response.text
    await server.app.state.deliverer.run_once()
    assert receiver.events() == ["person.outcome"]
    sent = receiver.payloads()[0]
    assert set(sent["data"]) == OUTCOME_DATA_FIELDS
    assert sent["data"] == {
        "kind": "lost",
        "value": None,
        "reason": "chose a competitor",
        "event_id": sent["data"]["event_id"],
    }
    assert [o["kind"] for o in sent["person"]["outcomes"]] == ["lost"]
    assert sent["person"]["timeline"][0]["type"] == "outcome"


async def test_erasure_removes_announcements_not_yet_sent(hooked: Server, receiver: Receiver) -> None:
    server = hooked
    await subscribe(server, receiver.url)
    marc = await sales_ready(server, "marc@example.com")
    person_id = (await server.person_of(marc))["id"]
    assert await server.count("webhook_outbox") == 6
    await admin(server, "DELETE", f"/api/people/{person_id}")
    assert await server.count("webhook_outbox") == 0
    await server.app.state.deliverer.run_once()
    assert receiver.received == []


def test_webhooks_test_sends_a_signed_sample(receiver: Receiver) -> None:
    result = CliRunner().invoke(main, ["webhooks", "test", receiver.url, "--secret", "whsec_s3cret"])
    assert result.exit_code == 0, result.output
    headers, body = receiver.received[0]
    assert headers["tracker-event"] == "person.routed"
    assert verify("whsec_s3cret", headers["tracker-signature"], body, float(headers["tracker-signature"][2:12]))
    sample = orjson.loads(body)
    assert sample["person"]["email"] == "marc@example.com" and sample["data"]["queue"] == "inside-sales"
    assert "answered 200" in result.output


def test_webhooks_test_fails_when_the_receiver_refuses() -> None:
    with Receiver(status=401) as refusing:
        result = CliRunner().invoke(main, ["webhooks", "test", refusing.url, "--event", "person.merged"])
    assert result.exit_code == 1 and "HTTP 401" in result.output and "signed with whsec_" in result.output
    assert CliRunner().invoke(main, ["webhooks", "test", "gopher://x"]).exit_code == 1


def test_webhooks_cli_manages_subscriptions(tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path)]
    assert runner.invoke(main, ["sites", "add", "acme", *data]).exit_code == 0
    added = runner.invoke(
        main, ["webhooks", "add", "https://crm.example.com/in", "--site", "acme", "--event", "person.routed", *data]
    )
    assert added.exit_code == 0, added.output
    assert added.stdout.splitlines()[-1].startswith("whsec_")
    listed = runner.invoke(main, ["webhooks", "list", "--site", "acme", *data])
    assert listed.stdout.strip() == "1  https://crm.example.com/in  person.routed" and "whsec_" not in listed.stdout
    assert runner.invoke(main, ["webhooks", "remove", "1", "--site", "acme", *data]).exit_code == 0
    assert runner.invoke(main, ["webhooks", "remove", "1", "--site", "acme", *data]).exit_code == 1
    assert runner.invoke(main, ["webhooks", "list", "--site", "nope", *data]).exit_code == 1
