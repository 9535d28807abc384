"""Every console route, signed in as an admin (who may open them all), given hostile path, query
and form values: each answers a page or a redirect, never a server error.  The console's share of
"bad input always gets a clear answer"; the live fuzzers (tests/test_fuzz.py) only reach these
routes signed out."""

from __future__ import annotations

import random
import re

import httpx
from starlette.routing import Route

from .conftest import Server
from .test_admin import csrf_of, session_of, session_of_again
from .test_ingest import marc_journey

HOSTILE = (
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "NaN",
    "9" * 25,  # past a 64-bit integer: PostgreSQL refuses it as a parameter
    "é" * 300,
    "<script>alert(1)</script>",
    "'; DROP TABLE persons;--",
    "../../etc/passwd",
    "%",
    "{",
    "[]",
    "null",
    "a" * 5000,
    "1.5",
    "12,5",
    " 12 ",
    "2026-13-45",
    "javascript:alert(1)",
)
# Real names the console's forms and filters read, so values reach the code behind them.
NAMES = [
    "site",
    "q",
    "stage",
    "min_score",
    "max_score",
    "queue",
    "owner",
    "cursor",
    "limit",
    "older",
    "n",
    "against",
    "score",
    "mql",
    "sql",
    "reason",
    "comment",
    "base_version",
    "source",
    "id",
    "kind",
    "title",
    "text",
    "priority",
    "frequency",
    "after_close",
    "trigger",
    "when_url",
    "score_engagement",
    "field_name_0",
    "field_label_0",
    "email",
    "role",
    "value",
    "by",
    "confirm",
    "url",
    "events",
    "name",
    "origins",
    "consent",
    "locale",
    "timezone",
    "action",
    "actor",
    "token:wp_vision",
    "rule",
    "points",
    "limit",
    "type",
    "lang",
    "version",
    "mine",
    "new_since",
    "outcome",
    "amount",
    "note",
    "since",
    "until",
    "width",
    "converting",
    "window",
    "criterion",
    "min_volume",
    "days",
    "campaign",
]
PATH_VALUES = (*HOSTILE, "1", "demo", "sales-popup")
TRIES = 10  # per route and method, on each backend


def signed_out(answer: httpx.Response) -> bool:
    """A console page's answer to a caller without a session: off to sign in."""
    return answer.status_code == 303 and answer.headers.get("location", "").startswith("/admin/login")


async def test_no_console_route_fails_on_hostile_values(server: Server) -> None:
    await marc_journey(server)
    rng = random.Random(12)
    headers = await session_of(server, "admin")
    csrf = await csrf_of(server, headers)
    walked = 0

    async def send(method: str, path: str, values: dict[str, str]) -> httpx.Response:
        if method == "GET":
            return await server.http.get(path, params=values, headers=headers)
        return await server.http.post(path, data={**values, "csrf": csrf}, headers=headers)

    for route in server.app.routes:
        if not isinstance(route, Route) or not route.path.startswith("/admin") or route.path == "/admin/logout":
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            for _ in range(TRIES):
                path = re.sub(r"{\w+}", lambda _: rng.choice(PATH_VALUES).replace("/", "%2F") or "x", route.path)
                values = {name: rng.choice(HOSTILE) for name in rng.sample(NAMES, rng.randint(1, 6))}
                answer = await send(method, path, values)
                # Sent signed in?  The answer says so: a request without a session is sent to sign in
                # (asking a page after each request, as this test did, was a third of its time).
                if signed_out(answer):
                    headers = await session_of_again(server, "admin")  # a value signed us out (settings…)
                    csrf = await csrf_of(server, headers)
                    answer = await send(method, path, values)
                assert answer.status_code < 500, (method, path, values, answer.text[:500])
            walked += 1
    assert walked > 50
