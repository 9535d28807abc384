"""/admin/users (web/admin/users.py) and the user changes behind it (services/console_users.py):
create with a one-time link, role and owner, disable/enable, reset links, the last active admin,
the first admin unique in the store, and the audit log — on both backends."""

from __future__ import annotations

import asyncio
import html
import re

import pytest

from tracker.assets import asset_root
from tracker.services.console_users import ConsoleUserError
from tracker.web.admin import i18n

from .conftest import Server
from .test_admin import PASSWORD, console_users, csrf_of, session_of, sign_in


async def admin(server: Server) -> tuple[dict[str, str], str]:
    headers = await session_of(server, "admin")
    return headers, await csrf_of(server, headers)


def setup_link(page: str) -> str:
    found = re.search(r'id="secret"[^>]* value="([^"]+)"', page)
    assert found, page
    return html.unescape(found.group(1))


async def test_an_admin_creates_a_sales_user_whose_link_works_once(server: Server) -> None:
    headers, csrf = await admin(server)
    body = {"csrf": csrf, "email": "Chloe@Example.com", "role": "sales", "owner": "chloe"}
    created = await server.http.post("/admin/users", data=body, headers=headers)
    assert created.status_code == 200 and "One-time link for chloe@example.com" in created.text
    link = setup_link(created.text)
    assert link.startswith("http://") and "/admin/setup?t=" in link
    listing = await server.http.get("/admin/users", headers=headers)
    assert "chloe@example.com" in listing.text and link not in listing.text  # shown once
    token = link.split("t=", 1)[1]
    chosen = {"t": token, "password": PASSWORD, "confirm": PASSWORD}
    assert (await server.http.post("/admin/setup", data=chosen)).status_code == 303
    server.http.cookies.clear()
    user = await console_users(server).user("chloe@example.com")
    assert user is not None and (user.role, user.owner) == ("sales", "chloe")
    assert (await sign_in(server, "chloe@example.com")).status_code == 303
    assert (await server.http.post("/admin/setup", data=chosen)).status_code == 400


async def test_a_bad_user_form_keeps_the_input_and_names_the_field(server: Server) -> None:
    headers, csrf = await admin(server)
    body = {"csrf": csrf, "email": "not an e-mail <b>", "role": "sales", "owner": "chloe"}
    refused = await server.http.post("/admin/users", data=body, headers=headers)
    assert refused.status_code == 400
    assert 'aria-describedby="email-error"' in refused.text and 'id="email-error"' in refused.text
    assert 'value="not an e-mail &lt;b&gt;"' in refused.text and 'value="chloe"' in refused.text
    owner_of_marketing = {**body, "email": "anne@example.com", "role": "marketing"}
    refused = await server.http.post("/admin/users", data=owner_of_marketing, headers=headers)
    assert refused.status_code == 400 and 'id="owner-error"' in refused.text
    assert [u.email for u in await console_users(server).users()] == ["admin@example.com"]  # nothing created


async def test_role_owner_disable_enable_and_reset_are_audited_by_email(server: Server) -> None:
    headers, csrf = await admin(server)
    await server.http.post(
        "/admin/users", data={"csrf": csrf, "email": "bob@example.com", "role": "marketing"}, headers=headers
    )
    change = {"csrf": csrf, "email": "bob@example.com"}
    moved = await server.http.post(
        "/admin/users/change", data={**change, "role": "sales", "owner": "bob"}, headers=headers
    )
    assert moved.status_code == 303
    assert (
        await server.http.post("/admin/users/change", data={**change, "action": "disable"}, headers=headers)
    ).status_code == 303
    user = await console_users(server).user("bob@example.com")
    assert user is not None and (user.role, user.owner, user.disabled) == ("sales", "bob", True)
    assert (
        await server.http.post("/admin/users/change", data={**change, "action": "enable"}, headers=headers)
    ).status_code == 303
    reset = await server.http.post("/admin/users/change", data={**change, "action": "reset"}, headers=headers)
    assert reset.status_code == 200 and "/admin/setup?t=" in setup_link(reset.text)
    log = await server.http.get("/admin/audit", params={"site": "install"}, headers=headers)
    actions = re.findall(r"<code>(user_\w+)</code>", log.text)
    # ... and, oldest, the admin's own creation (by the test, as the CLI would).
    assert actions == ["user_reset_link", "user_enable", "user_disable", "user_role", "user_create", "user_create"]
    assert "admin@example.com" in log.text and "user:" not in log.text.split("<tbody>", 1)[1]
    assert '<dt>role</dt><dd class="change"><del>marketing</del> → <ins>sales</ins></dd>' in log.text
    assert '<dt>owner</dt><dd class="change"><ins>bob</ins></dd>' in log.text


async def test_the_last_active_admin_can_neither_leave_nor_be_demoted(server: Server) -> None:
    headers, csrf = await admin(server)
    own = {"csrf": csrf, "email": "admin@example.com"}
    refused = await server.http.post("/admin/users/change", data={**own, "action": "disable"}, headers=headers)
    assert refused.status_code == 400 and "last active admin" in refused.text
    demoted = await server.http.post(
        "/admin/users/change", data={**own, "role": "sales", "owner": "x"}, headers=headers
    )
    assert demoted.status_code == 400 and 'id="row-error"' in demoted.text and 'value="x"' in demoted.text
    user = await console_users(server).user("admin@example.com")
    assert user is not None and (user.role, user.disabled) == ("admin", False)
    # With a second admin, one may step down.
    await console_users(server).create_user("second@example.com", "admin", server.clock())
    assert (
        await server.http.post("/admin/users/change", data={**own, "role": "marketing"}, headers=headers)
    ).status_code == 303


async def warm_pool(server: Server) -> None:
    """Open several connections first (PostgreSQL), so racing units really run side by side."""
    await asyncio.gather(*(server.runtime.store.read(lambda q: q.users()) for _ in range(4)))


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(server: Server) -> None:
    users = console_users(server)
    for email in ("a@example.com", "b@example.com"):
        await users.create_user(email, "admin", server.clock())
    await warm_pool(server)
    results = await asyncio.gather(
        users.set_role("a@example.com", "sales", None, actor="user:2"),
        users.set_role("b@example.com", "sales", None, actor="user:1"),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["ConsoleUserError", "UserRecord"]
    assert [u.email for u in await users.users() if u.role == "admin"] in (["a@example.com"], ["b@example.com"])


async def test_two_different_first_admin_links_used_at_once_make_one_admin(server: Server) -> None:
    users = console_users(server)
    first, second = await users.first_admin_link(server.clock()), await users.first_admin_link(server.clock())
    assert first is not None and second is not None and first != second
    await warm_pool(server)
    results = await asyncio.gather(
        users.use_link(first, PASSWORD, server.clock(), email="one@example.com"),
        users.use_link(second, PASSWORD, server.clock(), email="two@example.com"),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["ConsoleUserError", "UserRecord"]
    users = await users.users()
    assert len(users) == 1 and users[0].role == "admin"
    marks = await server.runtime.store.read(lambda q: q.conn.fetchall("SELECT user_id FROM install_marks"))
    assert [int(row["user_id"]) for row in marks] == [users[0].id]


async def test_the_first_admin_mark_is_unique_in_the_store(server: Server) -> None:
    await server.runtime.store.write(lambda q: q.mark_first_admin(1, server.clock()))
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await server.runtime.store.write(lambda q: q.mark_first_admin(2, server.clock()))


async def test_sales_and_marketing_cannot_manage_users(server: Server) -> None:
    for role in ("sales", "marketing"):
        headers = await session_of(server, role)
        assert (await server.http.get("/admin/users", headers=headers)).status_code == 403
        body = {"csrf": await csrf_of(server, headers), "email": "x@example.com", "role": "admin"}
        assert (await server.http.post("/admin/users", data=body, headers=headers)).status_code == 403
    with pytest.raises(ConsoleUserError):
        await console_users(server).create_user("sales@example.com", "sales", server.clock())


async def test_a_user_form_without_the_csrf_token_is_refused(server: Server) -> None:
    headers, _ = await admin(server)
    body = {"email": "x@example.com", "role": "admin"}
    assert (await server.http.post("/admin/users", data=body, headers=headers)).status_code == 403
    assert await console_users(server).user("x@example.com") is None


ADMIN_TEMPLATES = ("users", "keys", "sites", "site", "webhooks", "audit", "privacy")
# Words French writes the same (names of standards, loanwords).
SAME_IN_FRENCH = {"E-mail", "Actions", "Site", "Sites", "IP", "DNT / GPC", "Webhooks", "Action", "Lead", "e-mail"}
SAME_IN_FRENCH |= {"Do Not Track", "Global Privacy Control"}


def test_every_string_of_the_admin_pages_has_its_french() -> None:
    catalog = i18n.translations("fr")
    for name in ADMIN_TEMPLATES:
        source = (asset_root() / "templates" / "admin" / f"{name}.html").read_text(encoding="utf-8")
        for _quote, message in re.findall(r"""_\(\s*(["'])(.*?)(?<!\\)\1""", source):
            assert catalog.gettext(message) != message or message in SAME_IN_FRENCH, (name, message)


async def test_the_admin_pages_speak_french(server: Server) -> None:
    headers, _ = await admin(server)
    french = {**headers, "accept-language": "fr-FR,fr;q=0.9"}
    pages = {
        "/admin/users": "Créer un utilisateur",
        "/admin/sites": "Créer un site",
        "/admin/sites/demo": "Extrait à coller",
        "/admin/keys": "Créer une clé",
        "/admin/webhooks": "Ajouter un webhook",
        "/admin/audit": "Journal d’audit",
        "/admin/privacy": "Demandes RGPD",
    }
    for path, text in pages.items():
        page = await server.http.get(path, headers=french)
        assert page.status_code == 200 and text in page.text and '<html lang="fr">' in page.text, path
    missing = await server.http.get("/admin/sites/nope", headers=french)
    assert missing.status_code == 404 and "Ce site n’existe pas." in missing.text
