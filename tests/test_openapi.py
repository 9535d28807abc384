"""/api/openapi.json is a valid OpenAPI 3.1 document that matches the route list both ways,
and what it says of /collect is what the server does: the suite's beacon bodies and the
answers to them fit its schemas, and the schemas and the validator agree at every limit."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.routing import Match, Route

from tracker.errors import BadRequest
from tracker.web.openapi import document
from tracker.web.openapi_collect import MEDIA
from tracker.web.openapi_segment import SEGMENT_CALLS
from tracker.web.validation import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_ENGAGED_SECONDS,
    MAX_EVENTS,
    MAX_NAME,
    MAX_PROPS,
    MAX_SITE,
    MAX_STRING,
    MAX_TITLE,
    MAX_URL,
    parse_payload,
)

from .conftest import BASE, START, Server
from .test_ingest import marc_journey

SAMPLE = {"{person_id}": "1", "{token}": "t"}
# Health, metrics, the beacon script and the demo site are operations, not part of the contract.
DOCUMENTED = ("/collect", "/api/", "/v1/")
# HEAD is GET without a body; OPTIONS is the CORS preflight, answered to browsers, not called by
# developers (POST /collect's description says what it allows).
UNDOCUMENTED_METHODS = {"HEAD", "OPTIONS"}
COLLECT = "/paths/~1collect/post"
PAGE = {"type": "page", "url": BASE + "/demo/"}


def concrete(path: str) -> str:
    for template, value in SAMPLE.items():
        path = path.replace(template, value)
    return path


def schema_at(pointer: str) -> Draft202012Validator:
    """A JSON Schema validator for the schema at ``pointer`` in the document, its $refs resolved."""
    resource = Resource.from_contents(document(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:openapi", resource)
    return Draft202012Validator({"$ref": f"urn:openapi#{pointer}"}, registry=registry)


async def test_the_document_is_valid_openapi_31(server: Server) -> None:
    response = await server.http.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"] == "3.1.0"


async def test_every_api_route_is_documented_and_every_documented_route_exists(server: Server) -> None:
    document = (await server.http.get("/api/openapi.json")).json()
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served = set()
    for route in server.app.routes:
        if not isinstance(route, Route) or not route.path.startswith(DOCUMENTED):
            continue
        paths = (
            [f"/v1/{name}" for pair in SEGMENT_CALLS.items() for name in pair]
            if route.path == "/v1/{kind}"
            else [route.path]
        )
        served |= {
            (path, method) for path in paths for method in route.methods or () if method not in UNDOCUMENTED_METHODS
        }
    assert ("/collect", "POST") in served
    assert served == documented
    for path, method in documented:
        scope = {"type": "http", "path": concrete(path), "method": method}
        assert any(route.matches(scope)[0] is Match.FULL for route in server.app.routes), (method, path)


async def test_the_suites_beacon_bodies_and_their_answers_fit_the_collect_schemas(server: Server) -> None:
    sent: list[Any] = []

    async def record(request: httpx.Request) -> None:
        if request.url.path == "/collect":
            sent.append(json.loads(request.content))

    server.http.event_hooks["request"].append(record)
    answers = await marc_journey(server)
    # The browser's envelope and event, as tests/browser/test_beacon_page.py pins them.
    browser = server.beacon()
    view = {**PAGE, "title": "Démo", "ref": "", "props": {"line": "medical"}, "t": int(START * 1000)}
    answers.append(await browser.send(view, sent_at=int(START * 1000), ctx={"screen": "desktop", "webdriver": False}))
    answers.append(await browser.send(ctx={"consent": False}))
    assert sent and answers[-1]["ignored"] == "consent"
    assert any(answer["decisions"] for answer in answers), "no decision to check against its schema"

    for media in MEDIA:
        request = schema_at(f"{COLLECT}/requestBody/content/{media.replace('/', '~1')}/schema")
        for body in sent:
            request.validate(body)
    answer = schema_at(f"{COLLECT}/responses/200/content/application~1json/schema")
    for body in answers:
        answer.validate(body)


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({"site": "demo", "events": [{"type": "nope"}]}, {}, 400),
        ({"site": "demo", "events": [PAGE]}, {"origin": "https://elsewhere.test"}, 403),
        ({"site": "nope", "events": [PAGE]}, {}, 404),
        ({"site": "demo", "events": [{**PAGE, "props": {"x": "x" * MAX_BODY_BYTES}}]}, {}, 413),
    ],
)
async def test_refusals_fit_their_documented_schemas(
    server: Server, body: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    response = await server.http.post("/collect", json=body, headers=headers)
    assert response.status_code == status, response.text
    schema_at(f"{COLLECT}/responses/{status}/content/application~1json/schema").validate(response.json())


def envelope(*events: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"site": "demo", "events": list(events) or [PAGE], **fields}


def nested(levels: int) -> dict[str, Any]:
    """Properties ``levels`` objects deep, the event's props being the first."""
    props: dict[str, Any] = {"v": 1}
    for _ in range(levels - 1):
        props = {"v": props}
    return props


LIMITS: list[tuple[dict[str, Any], bool]] = [
    (envelope(), True),
    (envelope(site="s" * MAX_SITE), True),
    (envelope(site="s" * (MAX_SITE + 1)), False),
    (envelope(site=""), False),
    (envelope(*[PAGE] * MAX_EVENTS), True),
    (envelope(*[PAGE] * (MAX_EVENTS + 1)), False),
    ({"site": "demo", "events": []}, False),
    (envelope(vid=5), False),
    (envelope(sent_at=1), True),
    (envelope(sent_at=0), False),
    (envelope(sent_at="1"), False),
    (envelope(ctx={"screen": "mobile", "webdriver": False, "consent": True}), True),
    (envelope(ctx={"webdriver": "yes"}), False),
    (envelope({"type": "nope"}), False),
    (envelope({**PAGE, "url": "u" * MAX_URL}), True),
    (envelope({**PAGE, "url": "u" * (MAX_URL + 1)}), False),
    (envelope({**PAGE, "ref": "u" * (MAX_URL + 1)}), False),
    (envelope({**PAGE, "url": "a\x00b"}), False),
    (envelope({**PAGE, "title": "t" * MAX_TITLE}), True),
    (envelope({**PAGE, "title": "t" * (MAX_TITLE + 1)}), False),
    (envelope({**PAGE, "t": 1}), True),
    (envelope({**PAGE, "t": "now"}), False),
    (envelope({"type": "custom", "name": "n" * MAX_NAME}), True),
    (envelope({"type": "custom", "name": "n" * (MAX_NAME + 1)}), False),
    (envelope({"type": "custom", "name": ""}), False),
    (envelope({"type": "custom"}), False),
    (envelope({"type": "impression", "props": {"campaign": "offer"}}), True),
    (envelope({"type": "chat", "props": {}}), False),
    (envelope({"type": "conversion"}), False),
    (envelope({"type": "engaged", "props": {"seconds": MAX_ENGAGED_SECONDS}}), True),
    (envelope({"type": "engaged", "props": {"seconds": MAX_ENGAGED_SECONDS + 1}}), False),
    (envelope({"type": "engaged", "props": {"seconds": -1}}), False),
    (envelope({"type": "identify", "props": {"email": "marc@example.com"}}), True),
    (envelope({"type": "form", "props": {"email": "marc@example.com", "note": "n" * MAX_STRING}}), True),
    (envelope({**PAGE, "props": {"note": "n" * (MAX_STRING + 1)}}), False),
    (envelope({**PAGE, "props": {str(i): i for i in range(MAX_PROPS)}}), True),
    (envelope({**PAGE, "props": {str(i): i for i in range(MAX_PROPS + 1)}}), False),
    (envelope({**PAGE, "props": {"k" * (MAX_NAME + 1): 1}}), False),
    (envelope({**PAGE, "props": {"list": list(range(MAX_PROPS + 1))}}), False),
    (envelope({**PAGE, "props": nested(MAX_DEPTH)}), True),
    (envelope({**PAGE, "props": nested(MAX_DEPTH + 1)}), False),
    (envelope({**PAGE, "props": []}), False),
]


@pytest.mark.parametrize(("body", "accepted"), LIMITS)
def test_the_request_schema_and_the_validator_agree_at_every_limit(body: dict[str, Any], accepted: bool) -> None:
    try:
        kept = not parse_payload(body, START).rejected
    except BadRequest:
        kept = False
    assert kept is accepted, "the validator disagrees with the test"
    assert schema_at("/components/schemas/BeaconRequest").is_valid(body) is accepted, "the document disagrees"


def test_documented_limits_are_the_validators_constants() -> None:
    described = document()
    schemas = described["components"]["schemas"]
    assert schemas["BeaconRequest"]["properties"]["events"]["maxItems"] == MAX_EVENTS
    assert schemas["BeaconEvent"]["properties"]["url"]["maxLength"] == MAX_URL
    assert f"over {MAX_BODY_BYTES} bytes" in described["paths"]["/collect"]["post"]["responses"]["413"]["description"]
