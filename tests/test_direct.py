"""A direct route is served past the middleware and router, exactly as they would have served it:
the same request, errors rendered by the app's handlers, ``nosniff`` on every answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from tracker.errors import BadRequest
from tracker.web.direct import DirectRoute, DirectRoutes

from .conftest import BASE, CHROME, Server


async def rendered_bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    return JSONResponse(exc.to_json(), exc.status)


async def rendered_crash(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "internal"}, 500)


async def stack(scope: Scope, receive: Receive, send: Send) -> None:
    """Stands for Starlette's middleware and router: says that it was the one to answer."""
    await PlainTextResponse("the stack", headers={"x-content-type-options": "nosniff"})(scope, receive, send)


async def echo(request: Request) -> Response:
    return JSONResponse({"body": (await request.body()).decode(), "agent": request.headers.get("user-agent")})


async def refuses(request: Request) -> Response:
    raise BadRequest("site is missing", field="site")


async def crashes(request: Request) -> Response:
    raise RuntimeError("a bug")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    routes = [
        DirectRoute("/echo", echo, method="POST"),
        DirectRoute("/refuses", refuses, method="POST"),
        DirectRoute("/crashes", crashes, method="POST"),
    ]
    app = DirectRoutes(stack, routes, {BadRequest: rendered_bad_request, Exception: rendered_crash})
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t.test") as http:
        yield http


async def test_a_direct_route_gets_the_request_and_its_answer_says_nosniff(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", content=b"hello", headers={"user-agent": "UA"})
    assert response.json() == {"body": "hello", "agent": "UA"}
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]


@pytest.mark.parametrize(("method", "path"), [("GET", "/echo"), ("POST", "/echo/"), ("POST", "/other")])
async def test_any_other_method_or_path_goes_the_long_way(client: httpx.AsyncClient, method: str, path: str) -> None:
    assert (await client.request(method, path)).text == "the stack"


async def test_under_a_root_path_the_router_serves_it(client: httpx.AsyncClient) -> None:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    transport.root_path = "/tracker"
    assert (await client.post("/echo")).text == "the stack"


async def test_an_http_error_is_rendered_by_its_handler(client: httpx.AsyncClient) -> None:
    response = await client.post("/refuses")
    assert response.status_code == 400 and response.json()["field"] == "site"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_crash_is_answered_500_and_raised_again_for_the_servers_log() -> None:
    app = DirectRoutes(stack, [DirectRoute("/crashes", crashes, method="POST")], {Exception: rendered_crash})
    sent: list[int] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            sent.append(int(str(message["status"])))

    scope = {"type": "http", "method": "POST", "path": "/crashes", "headers": [], "query_string": b""}
    with pytest.raises(RuntimeError, match="a bug"):
        await app(scope, receive, send)
    assert sent == [500]


async def test_the_beacon_is_served_directly_with_the_apps_runtime(server: Server) -> None:
    page = {"type": "page", "url": BASE + "/demo/"}
    response = await server.http.post(
        "/collect", json={"site": "demo", "events": [page]}, headers={"user-agent": CHROME}
    )
    assert response.status_code == 200 and response.json()["vid"]
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    # The app's outermost layer serves it: the router's own entry for it is never reached.
    outermost = server.app.middleware_stack
    assert isinstance(outermost, DirectRoutes) and list(outermost.endpoints) == [("POST", "/collect")]
