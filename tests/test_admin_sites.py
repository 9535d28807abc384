"""/admin/sites (web/admin/sites.py) through services/site_settings.py: the list, creating a site,
editing one with every error next to its field and nothing saved, the snippet, the audit."""

from __future__ import annotations

import html

from tracker.domain.privacy import PrivacySettings

from .conftest import BASE, Server
from .test_admin import csrf_of, session_of
from .test_admin_users import admin

VALID = {
    "name": "Démo",
    "origins": "https://www.example.fr\nhttps://shop.example.fr/",
    "consent": "required",
    "dnt": "honour",
    "gpc": "ignore",
    "ip": "truncate",
    "retention_anonymous_days": "30",
    "retention_identified_days": "",
    "internal": "10.0.0.0/8\n192.0.2.7",
}


async def test_the_list_shows_origins_privacy_and_internal_ranges(server: Server) -> None:
    headers, _ = await admin(server)
    page = await server.http.get("/admin/sites", headers=headers)
    assert page.status_code == 200 and 'href="/admin/sites/demo"' in page.text
    assert "<td>none</td>" in page.text and "anonymous 395, identified 1095" in page.text


async def test_an_admin_creates_a_site_and_a_bad_key_is_named(server: Server) -> None:
    headers, csrf = await admin(server)
    refused = await server.http.post(
        "/admin/sites", data={"csrf": csrf, "key": "no spaces", "name": "X"}, headers=headers
    )
    assert refused.status_code == 400 and 'aria-describedby="key-error"' in refused.text
    assert 'value="no spaces"' in refused.text
    taken = await server.http.post("/admin/sites", data={"csrf": csrf, "key": "demo", "name": "X"}, headers=headers)
    assert taken.status_code == 400 and "exists already" in taken.text
    created = await server.http.post(
        "/admin/sites", data={"csrf": csrf, "key": "acme", "name": "Acme"}, headers=headers
    )
    assert (created.status_code, created.headers["location"]) == (303, "/admin/sites/acme")
    assert server.runtime.sites.get("acme") is not None  # this instance sees it at once
    page = await server.http.get("/admin/sites/acme", headers=headers)
    assert page.status_code == 200
    # Shown as text to copy, never as a live tag.
    assert "&lt;script async" in page.text and "<script async" not in page.text
    assert f'<script async src="{BASE}/t.js" data-site="acme"></script>' in html.unescape(page.text)
    assert 'data-copy="#snippet"' in page.text


async def test_editing_a_site_applies_every_setting(server: Server) -> None:
    headers, csrf = await admin(server)
    saved = await server.http.post("/admin/sites/demo", data={"csrf": csrf, **VALID}, headers=headers)
    assert (saved.status_code, saved.headers["location"]) == (303, "/admin/sites/demo?saved=1")
    site = server.runtime.sites.get("demo")
    assert site is not None and site.name == "Démo"
    assert site.origins == frozenset({"https://www.example.fr", "https://shop.example.fr"})
    assert site.privacy == PrivacySettings("required", "honour", "ignore", "truncate", 30, None)
    assert [str(n) for n in site.internal] == ["10.0.0.0/8", "192.0.2.7/32"]
    page = await server.http.get("/admin/sites/demo?saved=1", headers=headers)
    assert 'data-consent="required"' in html.unescape(page.text) and "Saved" in page.text
    entries = await server.runtime.store.read(lambda q: q.audit_entries(site.id, 5))
    update = entries[0]
    assert (update["action"], update["actor"]) == ("site_update", "user:1")
    assert update["detail"]["before"]["privacy"]["consent"] == "none"
    assert update["detail"]["after"]["privacy"]["consent"] == "required"


async def test_bad_fields_are_each_named_kept_and_nothing_is_saved(server: Server) -> None:
    headers, csrf = await admin(server)
    bad = {
        **VALID,
        "origins": "https://ok.example\nftp://nope.example",
        "consent": "sometimes",
        "retention_anonymous_days": "0",
        "internal": "10.0.0.0/33",
        "name": "Kept <b>name</b>",
    }
    refused = await server.http.post("/admin/sites/demo", data={"csrf": csrf, **bad}, headers=headers)
    assert refused.status_code == 400 and "Nothing was saved" in refused.text
    for field in ("origins", "consent", "retention_anonymous_days", "internal"):
        assert f'aria-describedby="{field}-error"' in refused.text and f'id="{field}-error"' in refused.text, field
    assert 'value="Kept &lt;b&gt;name&lt;/b&gt;"' in refused.text and "ftp://nope.example</textarea>" in refused.text
    assert "10.0.0.0/33</textarea>" in refused.text and '<option value="sometimes" selected>' in refused.text
    site = server.runtime.sites.get("demo")
    assert site is not None and site.privacy == PrivacySettings() and site.name != "Kept <b>name</b>"
    assert (await server.http.get("/admin/sites/nope", headers=headers)).status_code == 404


async def test_only_admins_manage_sites_and_the_token_is_needed(server: Server) -> None:
    headers, _ = await admin(server)
    assert (await server.http.post("/admin/sites/demo", data=VALID, headers=headers)).status_code == 403
    marketing = await session_of(server, "marketing")
    assert (await server.http.get("/admin/sites", headers=marketing)).status_code == 403
    body = {"csrf": await csrf_of(server, marketing), **VALID}
    assert (await server.http.post("/admin/sites/demo", data=body, headers=marketing)).status_code == 403
    site = server.runtime.sites.get("demo")
    assert site is not None and site.privacy == PrivacySettings()
