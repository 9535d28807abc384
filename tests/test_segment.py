"""The Segment-compatible API: official clients, the seed journeys, idempotency, identity mapping, limits."""

from __future__ import annotations

import asyncio
import base64
import gzip
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from segment.analytics.client import Client

from tracker.store import Queries

from .conftest import BACKENDS, Clock, Server, backend, running_server
from .test_serve import cli_key, start_server, stop_server

BLOG = "http://shop.test/demo/blog/qualite/"
FILES = "http://shop.test/demo/files/"
RESOURCES = "http://shop.test/demo/ressources"


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


def test_capucine_through_the_official_python_client_reaches_sales_at_18(tmp_path: Path) -> None:
    process, base = start_server(tmp_path, "--demo")
    try:
        key = cli_key(tmp_path, "ingest")
        errors: list[Any] = []
        client = Client(write_key=key, host=base, sync_mode=True, on_error=lambda e, batch: errors.append(e))
        on_resources = {"page": {"url": RESOURCES}}
        client.page(anonymous_id="device-1", name="Ressources", properties={"url": RESOURCES}, context=on_resources)
        # White paper C, as Segment's SDKs send a download: the file in properties, the page in context.
        properties = {"url": FILES + "livre-blanc-c.pdf"}
        client.track(anonymous_id="device-1", event="download", properties=properties, context=on_resources)
        for slug in ("a", "b", "c"):
            client.page(
                anonymous_id="device-1", properties={"url": BLOG + slug}, context={"page": {"url": BLOG + slug}}
            )
        client.identify(user_id="crm-77", anonymous_id="device-1", traits={"email": "Capucine@Example.com"})
        client.track(user_id="crm-77", event="webinar_signup")
        client.flush()
        assert errors == []
        sales = cli_key(tmp_path, "sales")
        leads = httpx.get(base + "/api/leads", headers={"authorization": f"Bearer {sales}"}).json()["leads"]
    finally:
        stop_server(process)
    # The anonymous history merged into the identified lead: 12 (white paper C) + 3 x 2 (quality posts).
    assert [(lead["email"], lead["user_id"], lead["scores"]["engagement"], lead["stage"]) for lead in leads] == [
        ("capucine@example.com", "crm-77", 18, "sql")
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


async def test_a_batch_of_several_messages_is_written_as_a_bulk_unit(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL bulk units have writers of their own (``store.postgres``): a batch must say it is one."""
    store = server.runtime.store
    write = store.write
    bulk: list[bool] = []

    async def spy(unit: Any, **kwargs: Any) -> Any:
        bulk.append(kwargs.get("bulk", False))
        return await write(unit, **kwargs)

    key = await server.key("ingest")  # before the spy: making it writes too
    monkeypatch.setattr(store, "write", spy)
    await post(server, "/v1/batch", {"batch": [page("d3", "a"), page("d3", "b")]}, key=key)
    await post(server, "/v1/batch", {"batch": [page("d4", "a")]}, key=key)
    await post(server, "/v1/page", page("d5", "a"), key=key)
    assert bulk == [True, False, False]


async def test_a_message_id_counts_once_within_a_batch_and_across_batches(server: Server) -> None:
    first = {"batch": [page("d2", "a", "m-1"), page("d2", "b", "m-1"), page("d2", "c", "m-2")]}
    again = {"batch": [page("d2", "c", "m-2"), page("d2", "d", "m-3")]}
    answers = [(await post(server, "/v1/batch", body)).json() for body in (first, again)]
    assert [(answer["accepted"], answer["duplicates"]) for answer in answers] == [(2, 1), (1, 1)]
    assert await server.count("events") == 3


async def test_batches_racing_for_the_same_devices_record_and_score_every_event_once(server: Server) -> None:
    """Each batch reads its devices in one statement and saves them in its group commit: four batches
    naming the same twenty devices at once end as if they had come one after the other."""
    devices = [f"racer-{n}" for n in range(20)]
    batches = [{"batch": [page(device, f"{turn}-{device}") for device in devices]} for turn in range(4)]
    answers = await asyncio.gather(*(post(server, "/v1/batch", body) for body in batches))
    assert [answer.json()["accepted"] for answer in answers] == [20] * 4
    assert await server.count("events") == 80

    async def engagement(q: Queries) -> list[float]:
        scores = []
        for device in devices:
            visitor = await q.visitor(f"a:{device}", demo.id)
            assert visitor is not None
            person = await q.person(visitor.person_id)
            assert person is not None
            scores.append(person.scoring.values["engagement"])
        return scores

    demo = server.runtime.sites.get("demo")
    assert demo is not None
    # A quality post is worth 2, every time.
    assert await server.runtime.store.read(engagement) == [8.0] * 20
    assert await server.count("persons") == 20


async def test_a_batch_and_single_calls_racing_for_one_device_end_as_if_in_turn(server: Server) -> None:
    """A batch is a bulk unit and a single call is not: on PostgreSQL they run on writers of their own,
    side by side, and the person's lock still puts them in turn, so no event and no point is lost."""
    key = await server.key("ingest")
    batch = {"batch": [page("shared", f"batch-{n}") for n in range(10)]}
    singles = [post(server, "/v1/page", page("shared", f"single-{n}"), key=key) for n in range(10)]
    answers = await asyncio.gather(post(server, "/v1/batch", batch, key=key), *singles)
    assert [answer.status_code for answer in answers] == [200] * 11
    assert await server.count("events") == 20

    async def engagement(q: Queries) -> float:
        visitor = await q.visitor("a:shared", demo.id)
        assert visitor is not None
        person = await q.person(visitor.person_id)
        assert person is not None
        return float(person.scoring.values["engagement"])

    demo = server.runtime.sites.get("demo")
    assert demo is not None
    # A quality post is worth 2, every time: 20 of them.
    assert await server.runtime.store.read(engagement) == 40.0


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


def node(n: int, message: dict[str, Any], on: str | None = None) -> dict[str, Any]:
    """A call as @segment/analytics-node sends it (ids, time, library), from a page the browser was on."""
    context: dict[str, Any] = {"library": {"name": "@segment/analytics-node", "version": "2.1.2"}}
    if on is not None:
        context["page"] = {"url": on, "path": on.removeprefix("http://shop.test")}
    return {
        **message,
        "messageId": f"node-next-{n}",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "context": context,
        "integrations": {},
        "_metadata": {"jsRuntime": "node"},
    }


def viewed(anonymous_id: str, url: str) -> dict[str, Any]:
    return {"type": "page", "anonymousId": anonymous_id, "name": url.rpartition("/")[2], "properties": {"url": url}}


def downloaded(anonymous_id: str, event: str, paper: str) -> dict[str, Any]:
    properties = {"url": FILES + f"livre-blanc-{paper}.pdf"}
    return {"type": "track", "anonymousId": anonymous_id, "event": event, "properties": properties}


async def through_node(server: Server, *calls: tuple[dict[str, Any], str]) -> dict[str, Any]:
    batch = [node(n, message, on) for n, (message, on) in enumerate(calls)]
    response = await post(server, "/v1/batch", {"batch": batch, "sentAt": "2026-01-01T00:00:00.000Z"})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert (answer["accepted"], answer["rejected"], answer["notes"]) == (len(calls), [], [])
    return answer


async def test_marc_through_analytics_node_reaches_sales_at_13(server: Server) -> None:
    await through_node(
        server,
        (viewed("marc", "http://shop.test/demo/"), "http://shop.test/demo/"),
        (downloaded("marc", "download", "a"), RESOURCES),
        (downloaded("marc", "File Downloaded", "b"), RESOURCES),
        *((viewed("marc", BLOG + slug), BLOG + slug) for slug in ("precision", "controle", "service")),
        ({"type": "identify", "anonymousId": "marc", "userId": "crm-1", "traits": {"email": "marc@example.com"}}, BLOG),
    )
    lead = await lead_by_email(server, "marc@example.com")
    assert (lead["scores"]["engagement"], lead["stage"]) == (13, "sql")
    downloads = [event for event in lead["timeline"] if event["type"] == "download"]
    assert {(event["url"], event["props"]["page"]) for event in downloads} == {
        (FILES + "livre-blanc-a.pdf", RESOURCES),
        (FILES + "livre-blanc-b.pdf", RESOURCES),
    }


async def test_elodie_through_analytics_node_identifies_by_a_submitted_form_and_stays_at_5(server: Server) -> None:
    form = {"form_id": "newsletter", "email": "Elodie@Example.com", "company": "Clinique du Parc"}
    await through_node(
        server,
        (downloaded("elodie", "Download", "b"), RESOURCES),
        ({"type": "track", "anonymousId": "elodie", "event": "Form Submitted", "properties": form}, RESOURCES),
    )
    lead = await lead_by_email(server, "elodie@example.com")
    assert (lead["scores"]["engagement"], lead["stage"]) == (5, "known")
    assert lead["profile"] == {"company": "Clinique du Parc"}  # the form's name is not a field of it
    assert ("form", "newsletter") in {(event["type"], event["name"]) for event in lead["timeline"]}


async def test_a_track_naming_a_kind_without_what_it_needs_stays_a_custom_event(server: Server) -> None:
    response = await post(server, "/v1/track", {"anonymousId": "d", "event": "Engaged", "properties": {"scroll": 80}})
    answer = response.json()
    assert answer["accepted"] == 1
    assert answer["notes"] == [
        {
            "index": 0,
            "message": "kept_as_custom_event: not stored as kind engaged "
            "(batch[0].properties.seconds: engaged seconds must be a number from 0 to 86400)",
        }
    ]
    await post(server, "/v1/identify", {"anonymousId": "d", "userId": "u", "traits": {"email": "d@example.com"}})
    lead = await lead_by_email(server, "d@example.com")
    assert ("custom", "Engaged") in {(event["type"], event["name"]) for event in lead["timeline"]}


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": {"a": 1}, "anonymousId": "a"}, "batch[1].type"),  # was a 500: unhashable type
        ({"type": ["page"], "anonymousId": "a"}, "batch[1].type"),
        ({"type": "page", "anonymousId": "a\x00b"}, "batch[1].anonymousId"),  # was a 500 on PostgreSQL
        ({"type": "track", "anonymousId": "a", "event": "e\x00"}, "batch[1].event"),
        ({"type": "track", "anonymousId": "a", "event": "e", "properties": {"k\x00": 1}}, "batch[1].properties"),
        ({"type": "page", "anonymousId": "a", "messageId": 12}, "batch[1].messageId"),
        ({"type": "page", "anonymousId": "a", "properties": {"url": ["x"]}}, "batch[1].properties.url"),
        ({"type": "page", "anonymousId": "a", "context": {"page": {"url": {"a": 1}}}}, "batch[1].context.page.url"),
        ({"type": "page", "anonymousId": "a", "context": {"userAgent": ["Mozilla"]}}, "batch[1].context.userAgent"),
        ({"type": "page", "anonymousId": "a", "context": "web"}, "batch[1].context"),
        ({"type": "page", "anonymousId": "a", "timestamp": 1767225600}, "batch[1].timestamp"),
        ({"type": "page", "anonymousId": "a", "timestamp": "2026-01-01T00:00:00Z", "sentAt": {}}, "batch[1].sentAt"),
        ({"type": "identify", "userId": True}, "batch[1].userId"),
        ({"type": "identify", "userId": 1.5}, "batch[1].userId"),
        ({"type": "identify", "userId": "u", "traits": ["email"]}, "batch[1].traits"),
        ({"type": "identify", "userId": "u", "traits": {"email": 5}}, "batch[1].traits.email"),
        ({"type": "group", "anonymousId": "a", "groupId": 12}, "batch[1].groupId"),
        ({"type": "alias", "userId": "u", "previousId": ["p"]}, "batch[1].previousId"),
    ],
)
async def test_every_field_of_the_wrong_type_is_rejected_with_its_field(
    server: Server, message: dict[str, Any], field: str
) -> None:
    response = await post(server, "/v1/batch", {"batch": [page("ok", "a"), message]})
    assert response.status_code == 200, response.text
    assert [(r["index"], r["field"]) for r in response.json()["rejected"]] == [(1, field)]
    alone = await post(server, "/v1/batch", {"batch": [message]})
    assert alone.status_code == 400 and alone.json()["rejected"][0]["field"] == field.replace("[1]", "[0]")
    assert await server.count("events") == 1


async def test_a_shared_context_never_breaks_on_a_message_of_the_wrong_shape(server: Server) -> None:
    # Was a 500: the batch's context was merged into a message's context that was a list.
    body = {"context": {"ip": "192.0.2.1"}, "batch": [page("ok", "a"), page("bad", "b") | {"context": ["x"]}]}
    response = await post(server, "/v1/batch", body)
    assert response.status_code == 200 and response.json()["rejected"][0]["field"] == "batch[1].context"
    for envelope, field in (({"context": "web"}, "context"), ({"sentAt": 12}, "sentAt")):
        refused = await post(server, "/v1/batch", {"batch": [page("ok", "a")], **envelope})
        assert refused.status_code == 400 and refused.json()["field"] == field
    assert await server.count("events") == 1


async def test_a_message_nested_deeper_than_orjson_writes_is_rejected(server: Server) -> None:
    # Was a 500: orjson reads 1,024 levels of nesting but writes only 254, and the size check wrote it.
    deep = b'{"type": "track", "anonymousId": "a", "event": "e", "integrations": ' + b"[" * 300 + b"]" * 300 + b"}"
    response = await post(server, "/v1/batch", b'{"batch": [' + orjson.dumps(page("ok", "a")) + b", " + deep + b"]}")
    assert response.status_code == 200 and response.json()["rejected"][0]["field"] == "batch[1]"


def _identify(device: str, user_id: str, email: str | None = None) -> dict[str, Any]:
    return {"type": "identify", "anonymousId": device, "userId": user_id, "traits": {"email": email} if email else {}}


# Before: devices of one person (d1, d2 and its userId's), anonymous ones (d3, d4, d6).  The first batch merges
# d3 into that person (an alias naming a device the batch has not opened yet) before d3's own message, and
# identifies d4; the second interleaves the person's devices; the third merges d6 into the person before its
# device d2, read ahead, is opened.
_BEFORE = [page("d1", "a"), _identify("d1", "u1", "one@example.com"), page("d2", "a"), _identify("d2", "u1")]
_BEFORE += [page("d3", "b"), page("d4", "c"), page("d6", "b"), {"type": "identify", "userId": "u1"}]
_BATCHES = [
    [
        page("d1", "b"),
        {"type": "alias", "previousId": "d3", "userId": "u1"},
        page("d3", "c"),
        page("d4", "b"),
        _identify("d4", "u1"),
        page("d4", "a"),
    ],
    [
        page("d1", "c"),
        page("d2", "b"),
        {"type": "track", "anonymousId": "d1", "event": "download", "properties": {"url": FILES + "livre-blanc-c.pdf"}},
        page("d5", "a"),
        page("d2", "c"),
    ],
    # A backend's batch (its userId in every message), and a merge into the person of a device read ahead.
    [_identify("d6", "u1"), page("d2", "a"), {**page("d2", "b"), "userId": "u1"}, {**page("d1", "a"), "userId": "u1"}],
]


async def _stored(server: Server) -> list[Any]:
    """What a unit wrote, but for ids the sequences gave (event ids are taken ahead on PostgreSQL)."""

    async def read(q: Any) -> list[Any]:
        people = await q.conn.fetchall("SELECT id, email, user_id, stage, scoring FROM persons ORDER BY id")
        devices = await q.conn.fetchall("SELECT id, person_id, visits FROM visitors ORDER BY id")
        events = await q.conn.fetchall("SELECT person_id, type, url, visit FROM event_rows ORDER BY id")
        ledger = await q.conn.fetchall("SELECT person_id, score, rule_id, points, after FROM ledger_rows ORDER BY id")
        return [[tuple(row) for row in rows] for rows in (people, devices, events, ledger)]

    return await server.runtime.store.read(read)


@pytest.mark.parametrize("name", BACKENDS)
async def test_a_batch_stores_what_its_messages_store_one_request_each(tmp_path: Path, name: str) -> None:
    stored: list[list[Any]] = [[], []]  # after each batch: a merge's replay would mend what a stale copy lost
    for one_each in (True, False):
        async with backend(name) as url, running_server(tmp_path / str(one_each), Clock(), url) as server:
            for message in _BEFORE:
                await post(server, "/v1/batch", {"batch": [message]})
            for batch in _BATCHES:
                for sent in [[message] for message in batch] if one_each else [batch]:
                    assert (await post(server, "/v1/batch", {"batch": sent})).json()["accepted"] == len(sent)
                stored[one_each].append(await _stored(server))
    assert stored[0] == stored[1]
    people, devices, _, _ = stored[0][-1]
    assert {device[1] for device in devices if device[0] != "a:d5"} == {people[0][0]}  # u1's, but for d5
