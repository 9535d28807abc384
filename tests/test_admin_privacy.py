"""/admin/privacy (web/admin/privacy.py): find a person, download their data, erase them after a
confirmation — through services/privacy.py, audited as the console user."""

from __future__ import annotations

import orjson

from .conftest import Server
from .test_admin import session_of
from .test_admin_users import admin
from .test_ingest import marc_journey

MARC = {"site": "demo", "by": "email", "value": "MARC@example.com"}


async def test_find_download_and_erase_a_person(server: Server) -> None:
    await marc_journey(server)
    headers, csrf = await admin(server)
    found = await server.http.get("/admin/privacy", params=MARC, headers=headers)
    assert found.status_code == 200 and "marc@example.com" in found.text and "Download their data" in found.text
    download = await server.http.post("/admin/privacy/export", data={"csrf": csrf, **MARC}, headers=headers)
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    exported = orjson.loads(download.content)
    assert exported["email"] == "marc@example.com" and exported["data"]["events"]
    unconfirmed = await server.http.post("/admin/privacy/erase", data={"csrf": csrf, **MARC}, headers=headers)
    assert unconfirmed.status_code == 400 and 'aria-describedby="confirm-error"' in unconfirmed.text
    assert await server.count("persons") > 0
    erased = await server.http.post(
        "/admin/privacy/erase", data={"csrf": csrf, **MARC, "confirm": "yes"}, headers=headers
    )
    assert erased.status_code == 303 and "erased=" in erased.headers["location"]
    gone = await server.http.get("/admin/privacy", params=MARC, headers=headers)
    assert gone.status_code == 404 and "Nobody on this site matches." in gone.text
    site = server.runtime.sites.get("demo")
    assert site is not None
    entries = await server.runtime.store.read(lambda q: q.audit_entries(site.id, 5))
    assert [(e["action"], e["actor"]) for e in entries[:2]] == [("erase", "user:1"), ("export", "user:1")]


async def test_a_bad_reference_is_named(server: Server) -> None:
    headers, _ = await admin(server)
    bad = await server.http.get("/admin/privacy", params={"site": "demo", "by": "id", "value": "x<y"}, headers=headers)
    assert bad.status_code == 400 and 'aria-describedby="value-error"' in bad.text and 'value="x&lt;y"' in bad.text


async def test_only_admins_erase(server: Server) -> None:
    await marc_journey(server)
    sales = await session_of(server, "sales")
    assert (await server.http.get("/admin/privacy", params=MARC, headers=sales)).status_code == 403
    headers, _ = await admin(server)
    refused = await server.http.post("/admin/privacy/erase", data={**MARC, "confirm": "yes"}, headers=headers)
    assert refused.status_code == 403 and await server.count("persons") > 0
