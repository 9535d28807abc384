"""/admin/keys (web/admin/keys.py) through services/api_keys.py: per-site list, a key shown once
that works on the API, its last use, revoking it, the audit and the role matrix."""

from __future__ import annotations

import html
import re

from .conftest import Server
from .test_admin import csrf_of, session_of
from .test_admin_users import admin


def shown_key(page: str) -> str:
    found = re.search(r'data-testid="new-key"|id="secret"[^>]* value="(tk_[^"]+)"', page)
    assert found and found.group(1), page
    return html.unescape(found.group(1))


async def test_a_key_is_shown_once_works_and_is_revoked(server: Server) -> None:
    headers, csrf = await admin(server)
    body = {"csrf": csrf, "site": "demo", "role": "sales", "name": "CRM <sync>"}
    created = await server.http.post("/admin/keys", data=body, headers=headers)
    assert created.status_code == 200 and "never shown again" in created.text
    key = shown_key(created.text)
    listing = await server.http.get("/admin/keys", headers=headers)
    assert key not in listing.text and "CRM &lt;sync&gt;" in listing.text and "never" in listing.text
    api = {"authorization": f"Bearer {key}"}
    assert (await server.http.get("/api/leads", headers=api)).status_code == 200
    listing = await server.http.get("/admin/keys", headers=headers)
    assert listing.text.count(">never<") == 0  # its last use shows now
    key_id = re.search(r'name="id" value="(\d+)"', listing.text)
    assert key_id and 'data-confirm="Revoke this key?' in listing.text
    revoked = await server.http.post("/admin/keys/revoke", data={"csrf": csrf, "id": key_id.group(1)}, headers=headers)
    assert (revoked.status_code, revoked.headers["location"]) == (303, "/admin/keys")
    assert (await server.http.get("/api/leads", headers=api)).status_code == 401
    again = await server.http.post("/admin/keys/revoke", data={"csrf": csrf, "id": key_id.group(1)}, headers=headers)
    assert again.status_code == 404 and "revoked already" in again.text
    site = server.runtime.sites.get("demo")
    assert site is not None
    entries = await server.runtime.store.read(lambda q: q.audit_entries(site.id, 5))
    assert [(e["action"], e["actor"], e["detail"]["role"]) for e in entries[:2]] == [
        ("key_revoke", "user:1", "sales"),
        ("key_create", "user:1", "sales"),
    ]


async def test_a_bad_key_form_keeps_the_input(server: Server) -> None:
    headers, csrf = await admin(server)
    refused = await server.http.post(
        "/admin/keys", data={"csrf": csrf, "site": "demo", "role": "root", "name": "kept"}, headers=headers
    )
    assert (
        refused.status_code == 400
        and 'aria-describedby="role-error"' in refused.text
        and 'value="kept"' in refused.text
    )
    unknown = await server.http.post(
        "/admin/keys", data={"csrf": csrf, "site": "nope", "role": "sales", "name": ""}, headers=headers
    )
    assert unknown.status_code == 400 and 'id="site-error"' in unknown.text
    assert await server.runtime.store.read(lambda q: q.api_keys(None)) == []


async def test_only_admins_see_keys_and_the_csrf_token_is_needed(server: Server) -> None:
    headers, _ = await admin(server)
    body = {"site": "demo", "role": "admin", "name": "x"}
    assert (await server.http.post("/admin/keys", data=body, headers=headers)).status_code == 403
    sales = await session_of(server, "sales")
    assert (await server.http.get("/admin/keys", headers=sales)).status_code == 403
    forged = {**body, "csrf": await csrf_of(server, sales)}
    assert (await server.http.post("/admin/keys", data=forged, headers=sales)).status_code == 403
    assert await server.runtime.store.read(lambda q: q.api_keys(None)) == []
