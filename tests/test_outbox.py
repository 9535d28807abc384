"""The durable outbox: signatures, backoff, retries then dead letters, re-sending, leases, crashes, instances."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tracker.app import create_app
from tracker.config import Settings
from tracker.services.outbox import KEEP_DELIVERED, MAX_BACKOFF, Deliverer, backoff, sign, verify
from tracker.services.webhooks import renderer
from tracker.store import Queries, open_store

from .conftest import CHROME, Clock, Server
from .test_routing import sales_ready
from .test_serve import run_cli, start_server, stop_server
from .test_webhooks import Receiver, admin, hooked, receiver, subscribe

__all__ = ["hooked", "receiver"]  # fixtures, used here by name


# -- signatures and backoff -----------------------------------------------------------------------


def test_a_signature_covers_the_body_and_the_time() -> None:
    body = b'{"event":"person.routed"}'
    header = sign("whsec_a", 1_767_225_600, body)
    assert header.startswith("t=1767225600,v1=") and len(header.split("v1=")[1]) == 64
    assert verify("whsec_a", header, body, 1_767_225_600 + 299)
    assert not verify("whsec_a", header, body, 1_767_225_600 + 301)  # replayed after the window
    assert not verify("whsec_a", header, body + b" ", 1_767_225_600)
    assert not verify("whsec_b", header, body, 1_767_225_600)
    assert not verify("whsec_a", "v1=" + header.split("v1=")[1], body, 1_767_225_600)
    assert not verify("whsec_a", "t=²,v1=" + header.split("v1=")[1], body, 1_767_225_600)  # a Unicode digit
    assert not verify("whsec_a", "garbage", body, 1_767_225_600)
    # While a secret is rotated, a header may carry one signature per secret.
    rotated = header + "," + sign("whsec_b", 1_767_225_600, body).split(",")[1]
    assert verify("whsec_b", rotated, body, 1_767_225_600)


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    assert [backoff(attempt, 30.0, 1.0) for attempt in (1, 2, 3, 4)] == [30.0, 60.0, 120.0, 240.0]
    assert [backoff(attempt, 30.0, 0.0) for attempt in (1, 2, 3)] == [15.0, 30.0, 60.0]
    assert backoff(40, 30.0, 1.0) == MAX_BACKOFF


# -- retries, dead letters, re-sending ------------------------------------------------------------


async def deliveries(server: Server, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await admin(server, "GET", "/api/webhooks/deliveries", params=params))["deliveries"]
    return found


async def test_a_failing_receiver_gets_retries_then_a_dead_letter_that_can_be_resent(hooked: Server) -> None:
    server, deliverer = hooked, hooked.app.state.deliverer
    with Receiver(status=500) as failing:
        await subscribe(server, failing.url, "person.routed")
        await sales_ready(server, "marc@example.com")
        waits = []
        for attempt in (1, 2, 3):
            assert await deliverer.run_once() == 1
            assert await deliverer.run_once() == 0  # not due again yet
            (row,) = await deliveries(server)
            assert (row["attempts"], row["last_status"], row["last_error"][:8]) == (attempt, 500, "HTTP 500")
            if attempt < 3:
                assert row["status"] == "pending"
                wait = (await server.runtime.store.read(next_attempt)) - server.clock()
                assert 10.0 * 2 ** (attempt - 1) * 0.5 <= wait <= 10.0 * 2 ** (attempt - 1)
                waits.append(wait)
                server.clock.advance(wait)
        assert [headers["tracker-attempt"] for headers, _ in failing.received] == ["1", "2", "3"]
        assert len({headers["tracker-delivery"] for headers, _ in failing.received}) == 1
    (dead,) = await deliveries(server, status="dead")
    assert dead["next_attempt_at"] is None and dead["url"] == failing.url and dead["event"] == "person.routed"
    server.clock.advance(3600)
    assert await deliverer.run_once() == 0  # dead letters wait for a person to decide
    with Receiver() as fixed:
        await admin(server, "DELETE", f"/api/webhooks/{dead['webhook_id']}")
        await subscribe(server, fixed.url, "person.routed")
        await sales_ready(server, "elodie@example.com")
        await deliverer.run_once()
        (delivered,) = await deliveries(server, status="delivered")
        assert await admin(server, "POST", f"/api/webhooks/deliveries/{delivered['id']}/resend") == {
            "id": delivered["id"],
            "status": "pending",
        }
        await deliverer.run_once()
        assert [headers["tracker-attempt"] for headers, _ in fixed.received] == ["1", "1"]
    assert (await admin(server, "POST", "/api/webhooks/deliveries/999/resend", 404))["field"] == "delivery_id"


async def test_delivered_rows_are_forgotten_after_30_days_but_dead_letters_stay(hooked: Server) -> None:
    server, deliverer = hooked, hooked.app.state.deliverer
    with Receiver() as fine, Receiver(status=500) as failing:
        await subscribe(server, fine.url, "person.identified")
        await subscribe(server, failing.url, "person.identified")
        await server.beacon().form("newsletter", email="marc@example.com")
        for _ in range(3):
            await deliverer.run_once()
            server.clock.advance(3600)
    server.clock.advance(KEEP_DELIVERED)
    await server.runtime.store.write(lambda q: q.prune_deliveries(server.clock() - KEEP_DELIVERED))
    assert [row["status"] for row in await deliveries(server)] == ["dead"]


async def next_attempt(q: Queries) -> float:
    return float(await q.conn.fetchval("SELECT next_attempt_at FROM webhook_outbox"))


async def test_a_dead_letter_is_resent_with_a_fresh_budget(hooked: Server) -> None:
    server, deliverer = hooked, hooked.app.state.deliverer
    with Receiver(status=503) as flaky:
        await subscribe(server, flaky.url, "person.identified")
        await server.beacon().form("newsletter", email="capucine@example.com")
        for _ in range(3):
            await deliverer.run_once()
            server.clock.advance(3600)
        (dead,) = await deliveries(server, status="dead")
        flaky.status = 204
        await admin(server, "POST", f"/api/webhooks/deliveries/{dead['id']}/resend")
        assert await deliverer.run_once() == 1
    (row,) = await deliveries(server)
    assert (row["status"], row["attempts"], row["last_status"], row["last_error"]) == ("delivered", 1, 204, None)
    assert flaky.received[-1][0]["tracker-attempt"] == "1"


async def test_an_unreachable_receiver_is_retried(hooked: Server) -> None:
    with Receiver() as gone:
        url = gone.url
    await subscribe(hooked, url, "person.identified")
    await hooked.beacon().form("newsletter", email="elodie@example.com")
    await hooked.app.state.deliverer.run_once()
    (row,) = await deliveries(hooked)
    assert row["status"] == "pending" and row["last_status"] is None and "Connect" in row["last_error"]


async def test_a_url_that_cannot_be_sent_to_fails_alone(hooked: Server, receiver: Receiver) -> None:
    await subscribe(hooked, "http://xn--/", "person.identified")  # a malformed IDNA label fails only when sent
    await subscribe(hooked, receiver.url, "person.identified")
    await hooked.beacon().form("newsletter", email="elodie@example.com")
    assert await hooked.app.state.deliverer.run_once() == 2
    assert receiver.events() == ["person.identified"]
    assert [(row["status"], row["last_error"][:9]) for row in await deliveries(hooked, status="pending")] == [
        ("pending", "IDNAError")
    ]


@pytest.mark.parametrize(
    ("params", "field"), [({"status": "lost"}, "status"), ({"limit": "0"}, "limit"), ({"before": "x"}, "before")]
)
async def test_delivery_listing_parameters_are_checked(server: Server, params: dict[str, str], field: str) -> None:
    assert (await admin(server, "GET", "/api/webhooks/deliveries", 400, params=params))["field"] == field


async def test_deliveries_are_listed_newest_first_a_page_at_a_time(hooked: Server, receiver: Receiver) -> None:
    await subscribe(hooked, receiver.url)
    await sales_ready(hooked, "marc@example.com")
    everything = await deliveries(hooked, limit=50)
    assert len(everything) == 6 and [row["id"] for row in everything] == sorted(row["id"] for row in everything)[::-1]
    first = await admin(hooked, "GET", "/api/webhooks/deliveries", params={"limit": 4})
    rest = await deliveries(hooked, before=first["next_before"])
    assert [row["id"] for row in first["deliveries"] + rest] == [row["id"] for row in everything]


# -- crashes and instances ------------------------------------------------------------------------


async def test_a_delivery_claimed_by_a_process_that_died_is_sent_after_its_lease(
    hooked: Server, receiver: Receiver
) -> None:
    server, deliverer = hooked, hooked.app.state.deliverer
    await subscribe(server, receiver.url, "person.identified")
    await server.beacon().form("newsletter", email="marc@example.com")
    now = server.clock()
    # Another process claimed the row, then died before sending it.
    claimed = await server.runtime.store.write(lambda q: q.claim_deliveries(now, now + deliverer.lease, 10))
    assert len(claimed) == 1
    assert await deliverer.run_once() == 0
    server.clock.advance(deliverer.lease)
    assert await deliverer.run_once() == 1
    assert [headers["tracker-attempt"] for headers, _ in receiver.received] == ["2"]


async def test_two_instances_never_send_a_delivery_twice(hooked: Server, receiver: Receiver) -> None:
    server = hooked
    await subscribe(server, receiver.url)
    for n in range(4):
        await sales_ready(server, f"lead{n}@example.com")
    url = server.runtime.settings.database_url
    others = [open_store(url) for _ in range(2)]
    instances = []
    for store in others:
        await store.open()
        instance = Deliverer(store, renderer(server.runtime.sites, server.clock), clock=server.clock, poll=0, batch=3)
        await instance.start()
        instances.append(instance)
    try:
        while sum(await asyncio.gather(*(instance.run_once() for instance in instances))):
            pass
    finally:
        for instance, store in zip(instances, others, strict=True):
            await instance.stop()
            await store.close()
    ids = [headers["tracker-delivery"] for headers, _ in receiver.received]
    assert len(ids) == 24 and len(set(ids)) == 24


async def test_the_deliverer_stops_with_the_server(tmp_path: Path, clock: Clock, database: str | None) -> None:
    settings = Settings(data_dir=tmp_path, db=database, demo=True, secret="test-secret", webhook_poll=0.01)
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        await asyncio.sleep(0.05)
        assert "webhook-outbox" in {task.get_name() for task in asyncio.all_tasks()}
    assert "webhook-outbox" not in {task.get_name() for task in asyncio.all_tasks()}


async def test_a_crash_between_commit_and_delivery_still_delivers_after_restart(
    tmp_path: Path, database: str | None
) -> None:
    env = {"TRACKER_DB": database or ""}
    with Receiver() as crm:
        # First life: the outbox is never polled, so the change is committed and nothing is sent.
        process, base = start_server(tmp_path, "--demo", env={**env, "TRACKER_WEBHOOK_POLL": "3600"})
        try:
            add = [
                "webhooks",
                "add",
                crm.url,
                "--site",
                "demo",
                "--event",
                "person.routed",
                "--data-dir",
                str(tmp_path),
            ]
            # In this process, as the server's neighbour would run it (a new Python costs ~1 s).
            added = run_cli(*add, *(["--db", database] if database else []))
            assert added.exit_code == 0, added.output
            secret = added.stdout.split()[-1]
            events: list[dict[str, Any]] = [
                {"type": "form", "name": "newsletter", "url": base + "/demo/", "props": {"email": "marc@example.com"}},
                {"type": "download", "url": base + "/demo/files/livre-blanc-a.pdf"},
                {"type": "download", "url": base + "/demo/files/livre-blanc-b.pdf"},
                *({"type": "page", "url": f"{base}/demo/blog/qualite/{n}"} for n in range(3)),
            ]
            answer = httpx.post(
                base + "/collect", json={"site": "demo", "events": events}, headers={"user-agent": CHROME}
            )
            assert answer.status_code == 200
        finally:
            process.kill()  # SIGKILL: no shutdown, no drain
            process.wait()
        assert crm.received == []
        # Second life: the committed announcement is found and sent.
        process, _ = start_server(tmp_path, "--demo", env={**env, "TRACKER_WEBHOOK_POLL": "0.1"})
        try:
            deadline = time.monotonic() + 20
            while not crm.received and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            stop_server(process)
    (headers, body), *more = crm.received
    assert more == [] and headers["tracker-event"] == "person.routed"
    assert verify(secret, headers["tracker-signature"], body, time.time())
    assert b'"email":"marc@example.com"' in body
