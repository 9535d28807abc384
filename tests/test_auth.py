"""Who is calling (web/auth.py): bearer keys checked against their role, through real requests.

Every /api/ route refusing requests without a valid key is tested in tests/test_abuse.py; a key
seeing only its own site's leads in tests/test_api.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tracker.domain.keys import digest, new_key
from tracker.domain.roles import KEY_ROLES as ROLES
from tracker.store import Queries

from .conftest import Server
from .test_segment import post

# One route per role, and what each role's key gets there.  /v1/* checks its write key itself
# (web/segment.py): a key without the ingest role is no write key at all, hence 401, not 403.
NEEDS = {"/api/leads": "sales", "/api/ignored-traffic": "marketing", "/api/webhooks": "admin", "/v1/track": "ingest"}
GETS = {
    "sales": {"/api/leads": 200, "/api/ignored-traffic": 403, "/api/webhooks": 403, "/v1/track": 401},
    "marketing": {"/api/leads": 403, "/api/ignored-traffic": 200, "/api/webhooks": 403, "/v1/track": 401},
    "ingest": {"/api/leads": 403, "/api/ignored-traffic": 403, "/api/webhooks": 403, "/v1/track": 200},
    # Admin grants everything.
    "admin": {"/api/leads": 200, "/api/ignored-traffic": 200, "/api/webhooks": 200, "/v1/track": 200},
}
REQUIRED = "an API key is required: Authorization: Bearer <key>"


async def call(server: Server, path: str, key: str) -> httpx.Response:
    if path.startswith("/v1/"):
        return await post(server, path, {"event": "signup", "anonymousId": "device-1"}, key=key)
    return await server.http.get(path, headers={"authorization": f"Bearer {key}"})


def test_every_role_is_in_the_grant_table() -> None:
    assert set(GETS) == set(ROLES) == set(NEEDS.values())


@pytest.mark.parametrize("role", ROLES)
async def test_role_grants(server: Server, role: str) -> None:
    key = await server.key(role)
    responses = {path: await call(server, path, key) for path in NEEDS}
    assert {path: response.status_code for path, response in responses.items()} == GETS[role]
    for path, response in responses.items():
        if response.status_code == 403:
            assert response.json() == {
                "error": "forbidden",
                "message": f"a {role} key cannot do this; it needs the {NEEDS[path]} role",
                "field": "authorization",
            }


async def test_the_scheme_is_case_insensitive_and_the_key_trimmed(server: Server) -> None:
    key = await server.key("sales")
    statuses = {
        scheme: (await server.http.get("/api/leads", headers={"authorization": f"{scheme}  {key}"})).status_code
        for scheme in ("Bearer", "bearer", "BEARER")
    }
    assert statuses == {"Bearer": 200, "bearer": 200, "BEARER": 200}


# What each refused Authorization header is told (None: no header at all).  One server for all of
# them: starting one per case would cost more than the cases.
REFUSED = {
    None: REQUIRED,
    "Bearer": REQUIRED,
    "Bearer    ": REQUIRED,
    "Basic {key}": REQUIRED,
    "{key}": REQUIRED,
    "Token {key}": REQUIRED,
    "Bearer tk_forged": "unknown API key",
    # One character short of a real key is another key.
    "Bearer {short}": "unknown API key",
}


async def test_refused_credentials_say_what_is_wrong(server: Server) -> None:
    key = await server.key("admin")
    answers: dict[str | None, tuple[int, Any]] = {}
    for header in REFUSED:
        headers = {} if header is None else {"authorization": header.format(key=key, short=key[:-1])}
        response = await server.http.get("/api/leads", headers=headers)
        answers[header] = (response.status_code, response.json())
    assert answers == {
        header: (401, {"error": "unauthorized", "message": message, "field": "authorization"})
        for header, message in REFUSED.items()
    }


async def test_a_key_whose_site_this_instance_does_not_serve_is_not_found(server: Server) -> None:
    key = new_key()

    # A site whose stored programme this release refuses is never loaded (services.sites), however
    # often the sites are reloaded: its keys authenticate but have no site to act on.
    async def unit(q: Queries) -> Any:
        site_id = await q.insert_site("legacy", "Legacy", [], '[scores.e]\nsql = "high"\n', server.clock())
        return await q.insert_api_key(site_id, "sales", "test", digest(key), server.clock())

    await server.runtime.store.write(unit)
    await server.runtime.sites.refresh()
    response = await server.http.get("/api/leads", headers={"authorization": f"Bearer {key}"})
    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "message": "this key's site is not loaded",
        "field": "authorization",
    }
