"""Every response says ``X-Content-Type-Options: nosniff`` once: pages, script, API, errors, a crash."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .conftest import BASE, CHROME, Server

PAGE = {"type": "page", "url": BASE + "/demo/"}


def says_nosniff(response: httpx.Response) -> bool:
    return response.headers.get_list("x-content-type-options") == ["nosniff"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/healthz", {}, 200),
        ("GET", "/readyz", {}, 200),
        ("GET", "/metrics", {}, 200),
        ("GET", "/t.js", {}, 200),
        ("HEAD", "/t.js", {}, 200),
        ("GET", "/demo/", {}, 200),
        ("GET", "/demo/no-such-page", {}, 404),
        ("GET", "/api/openapi.json", {}, 200),
        ("POST", "/collect", {"json": {"site": "demo", "events": [PAGE]}, "headers": {"user-agent": CHROME}}, 200),
        ("POST", "/collect", {"content": b"{", "headers": {"content-type": "text/plain"}}, 400),
        ("OPTIONS", "/collect", {"headers": {"origin": "https://evil.example"}}, 403),
        ("GET", "/api/leads", {}, 401),
        ("POST", "/v1/track", {"json": {"event": "x", "anonymousId": "a"}}, 401),
        ("GET", "/no/such/route", {}, 404),
        ("DELETE", "/healthz", {}, 405),
    ],
)
async def test_every_route_says_nosniff(
    server: Server, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = await server.http.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert says_nosniff(response), response.headers


async def test_a_not_modified_script_and_a_crash_say_nosniff_too(server: Server) -> None:
    first = await server.http.get("/t.js")
    again = await server.http.get("/t.js", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304 and says_nosniff(again)

    async def boom(request: Request) -> Response:
        raise RuntimeError("a bug")

    # The 500 is sent by Starlette's outermost error middleware, not by any route's code.
    server.app.router.routes.append(Route("/boom", boom))
    transport = httpx.ASGITransport(app=server.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        crashed = await http.get("/boom")
    assert crashed.status_code == 500 and crashed.json()["error"] == "internal"
    assert says_nosniff(crashed)
