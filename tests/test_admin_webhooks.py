"""/admin/webhooks (web/admin/webhooks.py): list, add (secret shown once), remove, and the
latest deliveries with resend — the services /api/webhooks uses, audited as the console user."""

from __future__ import annotations

import re

from .conftest import Server
from .test_admin import session_of
from .test_admin_users import admin
from .test_ingest import marc_journey

# The id a row's form sends (after its csrf and site fields).
FORM_ID = r'action="/admin/webhooks/{action}">(?:\s*<input[^>]*>){{2}}\s*<input type="hidden" name="id" value="(\d+)"'


async def test_add_list_deliveries_resend_and_remove(server: Server) -> None:
    headers, csrf = await admin(server)
    body = {"csrf": csrf, "site": "demo", "url": "https://crm.example.com/in", "event.person.routed": "on"}
    added = await server.http.post("/admin/webhooks", data=body, headers=headers)
    assert added.status_code == 200 and "not shown again" in added.text
    secret = re.search(r'id="secret"[^>]* value="(whsec_[^"]+)"', added.text)
    assert secret
    listing = await server.http.get("/admin/webhooks", params={"site": "demo"}, headers=headers)
    assert "https://crm.example.com/in" in listing.text and secret.group(1) not in listing.text
    assert "<td>person.routed</td>" in listing.text
    await marc_journey(server)  # Marc is routed: a delivery is queued
    listing = await server.http.get("/admin/webhooks", params={"site": "demo"}, headers=headers)
    delivery = re.search(FORM_ID.format(action="resend"), listing.text)
    assert delivery, listing.text
    resent = await server.http.post(
        "/admin/webhooks/resend", data={"csrf": csrf, "site": "demo", "id": delivery.group(1)}, headers=headers
    )
    assert (resent.status_code, resent.headers["location"]) == (303, "/admin/webhooks?site=demo")
    missing = await server.http.post(
        "/admin/webhooks/resend", data={"csrf": csrf, "site": "demo", "id": "999"}, headers=headers
    )
    assert missing.status_code == 404 and "no delivery 999" in missing.text
    hook = re.search(FORM_ID.format(action="remove"), listing.text)
    assert hook
    removed = await server.http.post(
        "/admin/webhooks/remove", data={"csrf": csrf, "site": "demo", "id": hook.group(1)}, headers=headers
    )
    assert removed.status_code == 303
    assert await server.runtime.store.read(lambda q: q.webhooks(1)) == []
    entries = await server.runtime.store.read(lambda q: q.audit_entries(1, 10))
    changes = [(e["action"], e["actor"]) for e in entries if e["action"].startswith("webhook_")]
    assert changes == [("webhook_remove", "user:1"), ("webhook_resend", "user:1"), ("webhook_add", "user:1")]


async def test_a_bad_webhook_keeps_the_input_and_names_the_field(server: Server) -> None:
    headers, csrf = await admin(server)
    body = {"csrf": csrf, "site": "demo", "url": "gopher://crm", "event.person.merged": "on"}
    refused = await server.http.post("/admin/webhooks", data=body, headers=headers)
    assert refused.status_code == 400 and 'aria-describedby="url-error"' in refused.text
    assert 'value="gopher://crm"' in refused.text
    assert re.search(r'name="event.person.merged" value="on" checked', refused.text)
    assert not re.search(r'name="event.person.routed" value="on" checked', refused.text)
    none = await server.http.post(
        "/admin/webhooks", data={**body, "url": "https://crm.example.com", "event.person.merged": ""}, headers=headers
    )
    assert none.status_code == 400 and 'id="events-error"' in none.text
    assert await server.runtime.store.read(lambda q: q.webhooks(1)) == []


async def test_only_admins_manage_webhooks(server: Server) -> None:
    marketing = await session_of(server, "marketing")
    assert (await server.http.get("/admin/webhooks", headers=marketing)).status_code == 403
    headers, _ = await admin(server)
    body = {"site": "demo", "url": "https://crm.example.com/in", "event.person.routed": "on"}
    assert (await server.http.post("/admin/webhooks", data=body, headers=headers)).status_code == 403
