"""/admin/audit (web/admin/audit.py, services/audit.py): actors by e-mail, before and after,
filters by site, actor and action, keyset pages; install-wide entries have no site."""

from __future__ import annotations

import re

from tracker.services.audit import audit_page, changes, who
from tracker.store.audit_queries import INSTALL, AuditFilter

from .conftest import Server
from .test_admin import session_of
from .test_admin_users import admin


async def record(server: Server, count: int) -> None:
    site = server.runtime.sites.get("demo")
    assert site is not None
    for n in range(count):
        await server.runtime.store.write(
            lambda q, n=n: q.insert_audit(site.id, server.clock() + n, "user:1", "export_leads", None, {"n": n})
        )


async def test_entries_read_as_people_read_them(server: Server) -> None:
    headers, _ = await admin(server)
    await record(server, 1)
    await server.runtime.store.write(lambda q: q.insert_audit(None, server.clock(), "key:7", "key_create", None, {}))
    page = await server.http.get("/admin/audit", headers=headers)
    assert page.status_code == 200
    rows = page.text.split("<tbody>", 1)[1]
    assert "admin@example.com" in rows and "API key 7" in rows and "user:1" not in rows
    assert "<td>demo</td>" in rows and "<td>install</td>" in rows
    assert '<option value="user:1">admin@example.com</option>' in page.text
    assert who("cli", {}) == "cli" and who("user:99", {}) == "user:99"  # a deleted user stays named


async def test_filters_and_keyset_pages(server: Server) -> None:
    headers, _ = await admin(server)
    await record(server, 60)
    first = await server.http.get("/admin/audit", params={"site": "demo", "action": "export_leads"}, headers=headers)
    assert first.text.count("<code>export_leads</code>") == 50
    following = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert following
    second = await server.http.get(following.group(1).replace("&amp;", "&"), headers=headers)
    assert second.text.count("<code>export_leads</code>") == 10 and 'rel="next"' not in second.text
    only_install = await server.http.get("/admin/audit", params={"site": "install"}, headers=headers)
    assert "<code>export_leads</code>" not in only_install.text and "<code>user_create</code>" in only_install.text
    nobody = await server.http.get("/admin/audit", params={"actor": "user:42"}, headers=headers)
    assert "Nothing recorded matches these filters." in nobody.text
    found = await audit_page(server.runtime.store, AuditFilter(site_id=INSTALL), 10)
    assert [entry["action"] for entry in found.entries] == ["user_create"] and found.next_before is None
    assert (await server.http.get("/admin/audit", params={"before": "x"}, headers=headers)).status_code == 400


async def test_only_admins_read_the_audit_log(server: Server) -> None:
    for role in ("sales", "marketing"):
        assert (await server.http.get("/admin/audit", headers=await session_of(server, role))).status_code == 403


def test_changes_are_listed_field_by_field() -> None:
    before = {"name": "Démo", "privacy": {"consent": "none", "ip": "drop"}, "origins": []}
    after = {"name": "Démo", "privacy": {"consent": "required", "ip": "drop"}, "origins": ["https://a.fr"]}
    assert changes({"site": "demo", "before": before, "after": after}) == [
        ("privacy.consent", "none", "required"),
        ("origins", [], ["https://a.fr"]),
    ]
    assert changes({"after": {"role": "sales", "owner": None}}) == [("role", None, "sales")]
    assert changes({"via": "email"}) == []
