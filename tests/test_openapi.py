"""/api/openapi.json is a valid OpenAPI 3.1 document that matches the route list both ways."""

from __future__ import annotations

from openapi_spec_validator import validate
from starlette.routing import Match, Route

from tracker.web.openapi import SEGMENT_CALLS

from .conftest import Server

SAMPLE = {"{person_id}": "1", "{token}": "t"}


def concrete(path: str) -> str:
    for template, value in SAMPLE.items():
        path = path.replace(template, value)
    return path


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
        if not isinstance(route, Route) or not route.path.startswith(("/api/", "/v1/")):
            continue
        paths = (
            [f"/v1/{name}" for pair in SEGMENT_CALLS.items() for name in pair]
            if route.path == "/v1/{kind}"
            else [route.path]
        )
        served |= {(path, method) for path in paths for method in route.methods or () if method != "HEAD"}
    assert served == documented
    for path, method in documented:
        scope = {"type": "http", "path": concrete(path), "method": method}
        assert any(route.matches(scope)[0] is Match.FULL for route in server.app.routes), (method, path)
