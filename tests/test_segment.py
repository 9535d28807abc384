"""The Segment-compatible API: official client, idempotency, identity mapping, limits."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path
from typing import Any

import httpx
import orjson
from segment.analytics.client import Client

from .conftest import Server
from .test_serve import cli_key, start_server, stop_server

BLOG = "http://shop.test/demo/blog/qualite/"


async def post(server: Server, path: str, body: Any, *, key: str | None = None, **headers: str) -> httpx.Response:
    key = key or await server.key("ingest")
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return await server.http.post(path, content=content, headers={"authorization": auth, **headers})


def page(anonymous_id: str, slug: str, message_id: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "page", "anonymousId": anonymous_id, "properties": {"url": BLOG + slug}}
    if message_id:
        message["messageId"] = message_id
    return message


async def lead_by_email(server: Server, email: str) -> dict[str, Any]:
    leads = (await server.api("/api/leads", stage="known,mql,sql,anonymous"))["leads"]
    summary = next(lead for lead in leads if lead["email"] == email)
    lead: dict[str, Any] = await server.api(f"/api/leads/{summary['id']}")
    return lead


def test_the_official_python_client_identifies_tracks_scores_and_merges(tmp_path: Path) -> None:
    process, base = start_server(tmp_path, "--demo")
    try:
        key = cli_key(tmp_path, "ingest")
        errors: list[Any] = []
        client = Client(write_key=key, host=base, sync_mode=True, on_error=lambda e, batch: errors.append(e))
        client.page(anonymous_id="device-1", properties={"url": "http://shop.test/demo/files/x", "path": "/x"})
        client.track(anonymous_id="device-1", event="download", properties={"file": "livre-blanc-c.pdf"})
        for slug in ("a", "b", "c"):
            client.page(anonymous_id="device-1", properties={"url": BLOG + slug})
        client.identify(user_id="crm-77", anonymous_id="device-1", traits={"email": "Capucine@Example.com"})
        client.track(user_id="crm-77", event="webinar_signup")
        client.flush()
        assert errors == []
        sales = cli_key(tmp_path, "sales")
        leads = httpx.get(base + "/api/leads", headers={"authorization": f"Bearer {sales}"}).json()["leads"]
    finally:
        stop_server(process)
    assert [(lead["email"], lead["user_id"], lead["scores"]["engagement"]) for lead in leads] == [
        ("capucine@example.com", "crm-77", 6)
    ]


async def test_a_retried_batch_never_scores_twice(server: Server) -> None:
    batch = {"batch": [page("d1", slug, f"m-{slug}") for slug in ("a", "b", "c")]}
    first = (await post(server, "/v1/batch", batch)).json()
    again = (await post(server, "/v1/batch", batch)).json()
    assert (first["accepted"], first["duplicates"]) == (3, 0)
    assert (again["accepted"], again["duplicates"]) == (0, 3)
    await post(server, "/v1/identify", {"anonymousId": "d1", "userId": "u1", "traits": {"email": "r@example.com"}})
    lead = await lead_by_email(server, "r@example.com")
    assert lead["scores"]["engagement"] == 6
    assert await server.count("events") == 4


async def test_userid_only_track_scores_the_known_person(server: Server) -> None:
    marc = server.beacon()
    await marc.form("newsletter", email="marc@example.com")
    await post(server, "/v1/identify", {"userId": "marc@example.com", "traits": {"plan": "pro"}})
    response = await post(server, "/v1/t", {"userId": "marc@example.com", "event": "download", "properties": {}})
    assert response.status_code == 200 and response.json()["accepted"] == 1
    await post(server, "/v1/p", {"userId": "marc@example.com", "properties": {"url": BLOG + "a"}})
    lead = await server.person_of(marc)
    assert lead["scores"]["engagement"] == 2
    assert lead["user_id"] == "marc@example.com"
    assert {d["id"] for d in lead["devices"]} >= {"u:marc@example.com"}


async def test_alias_folds_an_anonymous_device_into_the_user(server: Server) -> None:
    await post(server, "/v1/batch", {"batch": [page("phone", "a"), page("phone", "b")]})
    await post(server, "/v1/identify", {"userId": "u-9", "traits": {"email": "alias@example.com"}})
    response = await post(server, "/v1/alias", {"previousId": "phone", "userId": "u-9"})
    assert response.json()["notes"] == []
    lead = await lead_by_email(server, "alias@example.com")
    assert lead["scores"]["engagement"] == 4
    assert len(lead["merged_ids"]) == 1
    # Two identified people are never merged.
    await post(server, "/v1/identify", {"anonymousId": "laptop", "userId": "u-10", "traits": {}})
    refused = await post(server, "/v1/a", {"previousId": "laptop", "userId": "u-9"})
    assert "cannot_merge_already_identified" in refused.json()["notes"][0]["message"]


async def test_clock_skew_is_corrected_from_sent_at(server: Server) -> None:
    # The device's clock is 1 h ahead: timestamp and sentAt are both shifted, the difference is 5 s.
    message = page("skewed", "a") | {"timestamp": "2026-01-01T01:00:00Z"}
    await post(server, "/v1/batch", {"batch": [message], "sentAt": "2026-01-01T01:00:05Z"})
    await post(server, "/v1/identify", {"anonymousId": "skewed", "userId": "s", "traits": {"email": "s@example.com"}})
    lead = await lead_by_email(server, "s@example.com")
    assert lead["timeline"][-1]["ts"] == "2025-12-31T23:59:55Z"


async def test_gzip_bodies_and_write_key_in_body(server: Server) -> None:
    key = await server.key("ingest")
    body = gzip.compress(orjson.dumps({"batch": [page("gz", "a")], "writeKey": key}))
    response = await server.http.post("/v1/batch", content=body, headers={"content-encoding": "gzip"})
    assert response.status_code == 200 and response.json()["accepted"] == 1
    broken = await post(server, "/v1/batch", b"not gzip", **{"content-encoding": "gzip"})
    assert broken.status_code == 400 and broken.json()["field"] == "body"


async def test_limits_and_bad_messages_answer_400_with_a_reason(server: Server) -> None:
    big = page("big", "a") | {
        "properties": {"url": BLOG + "a", "pad": "x" * 900, **{f"k{i}": "y" * 900 for i in range(40)}}
    }
    response = await post(server, "/v1/batch", {"batch": [big, page("ok", "a")]})
    assert response.json()["rejected"][0]["field"] == "batch[0]"
    assert "32768" in response.json()["rejected"][0]["message"]
    huge = {"batch": [page(f"d{i}", "a") | {"properties": {"url": "x" * 1000}} for i in range(600)]}
    response = await post(server, "/v1/batch", huge)
    assert response.status_code == 400 and response.json()["field"] == "body"
    for message, field in (
        ({"type": "track", "anonymousId": "x"}, "batch[0].event"),
        ({"type": "track", "event": "e"}, "batch[0].userId"),
        ({"type": "warp", "userId": "u"}, "batch[0].type"),
        ({"type": "identify", "userId": "null"}, "batch[0].userId"),
        ({"type": "alias", "userId": "u"}, "batch[0].previousId"),
        ({"type": "page", "userId": "u", "timestamp": "yesterday"}, "batch[0].timestamp"),
    ):
        response = await post(server, "/v1/batch", {"batch": [message]})
        assert response.status_code == 400, message
        assert response.json()["rejected"][0]["field"] == field
    assert (await post(server, "/v1/batch", b"{")).json()["field"] == "body"
    assert (await post(server, "/v1/batch", {"batch": []})).json()["field"] == "batch"
    assert (await post(server, "/v1/nope", {"userId": "u"})).json()["field"] == "path"
    assert await server.count("events") == 1


async def test_write_keys_are_required_and_must_be_ingest_keys(server: Server) -> None:
    assert (await server.http.post("/v1/batch", json={"batch": [page("x", "a")]})).status_code == 401
    sales = await server.key("sales")
    assert (await post(server, "/v1/batch", {"batch": [page("x", "a")]}, key=sales)).status_code == 401
    assert (await post(server, "/v1/batch", {"batch": [page("x", "a")]}, key="tk_forged")).status_code == 401
    assert await server.count("events") == 0
