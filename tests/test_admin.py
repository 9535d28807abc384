"""The console under /admin (tracker.web.admin): first run, sign-in, CSRF, sessions, the role matrix
walked over the route list, and a scored lead's story as sales sees it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
from starlette.routing import Route

from tracker.domain.roles import MATRIX, USER_ROLES
from tracker.services.console_users import IDLE
from tracker.web.admin.pages import SIGN_IN_FAILED
from tracker.web.admin.session import COOKIE, USER_RATE

from .conftest import Server
from .test_console_users import console_users
from .test_ingest import marc_journey

PASSWORD = "a long enough password"
# Open without a session: signing in and first run, and the stylesheet those pages need.
PUBLIC = {"/", "/admin/login", "/admin/setup", "/admin/console.css", "/admin/console.js", "/admin/htmx.js"}


async def user(server: Server, role: str, email: str | None = None) -> str:
    users = console_users(server)
    address = email or f"{role}@example.com"
    await users.create_user(address, role, server.clock())
    await users.use_link(await users.password_link(address, server.clock()), PASSWORD, server.clock())
    return address


async def sign_in(server: Server, email: str, password: str = PASSWORD) -> httpx.Response:
    response = await server.http.post("/admin/login", data={"email": email, "password": password})
    server.http.cookies.clear()  # each test passes the cookie it means to use
    return response


async def session_of(server: Server, role: str) -> dict[str, str]:
    response = await sign_in(server, await user(server, role))
    assert response.status_code == 303, response.text
    return {"cookie": f"{COOKIE}={response.cookies[COOKIE]}"}


async def csrf_of(server: Server, headers: dict[str, str]) -> str:
    page = await server.http.get("/admin/", headers=headers)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def test_root_leads_to_the_console_and_anonymous_to_sign_in(server: Server) -> None:
    response = await server.http.get("/")
    assert (response.status_code, response.headers["location"]) == (303, "/admin/")
    response = await server.http.get("/admin/")
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/login?next=")
    page = await server.http.get("/admin/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_first_run_link_creates_the_admin_and_cannot_be_reused(server: Server) -> None:
    token = await console_users(server).first_admin_link(server.clock())
    assert token is not None
    form = await server.http.get("/admin/setup", params={"t": token})
    assert form.status_code == 200 and "first administrator" in form.text
    body = {"t": token, "email": "boss@example.com", "password": PASSWORD, "confirm": PASSWORD}
    created = await server.http.post("/admin/setup", data=body)
    server.http.cookies.clear()
    assert (created.status_code, created.headers["location"]) == (303, "/admin/")
    headers = {"cookie": f"{COOKIE}={created.cookies[COOKIE]}"}
    home = (await server.http.get("/admin/", headers=headers)).text
    assert ">boss@example.com</a>" in home and "<span>(admin)</span>" in home
    again = await server.http.post("/admin/setup", data={**body, "email": "evil@example.com"})
    assert again.status_code == 400 and "already used" in again.text
    assert (await server.http.get("/admin/setup", params={"t": token})).status_code == 410
    assert [u.email for u in await console_users(server).users()] == ["boss@example.com"]


async def test_wrong_password_and_unknown_user_get_the_same_answer(server: Server) -> None:
    email = await user(server, "sales")
    wrong = await sign_in(server, email, "not the password")
    unknown = await sign_in(server, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert SIGN_IN_FAILED in wrong.text and SIGN_IN_FAILED in unknown.text
    assert COOKIE not in wrong.cookies and COOKIE not in unknown.cookies
    assert wrong.text.replace(email, "X") == unknown.text.replace("nobody@example.com", "X")


async def test_sign_in_is_throttled_per_user(server: Server) -> None:
    email = await user(server, "sales")
    for _ in range(int(USER_RATE.burst)):
        assert (await sign_in(server, email, "guess")).status_code == 401
    throttled = await sign_in(server, email, PASSWORD)  # even the right password waits now
    assert throttled.status_code == 429 and "Too many sign-in attempts" in throttled.text
    assert int(throttled.headers["retry-after"]) >= 1
    # Another user from the same address is not locked out by it.
    assert (await sign_in(server, await user(server, "marketing"))).status_code == 303
    server.clock.advance(60)
    assert (await sign_in(server, email, PASSWORD)).status_code == 303


async def test_state_changes_need_the_csrf_token(server: Server) -> None:
    headers = await session_of(server, "sales")
    refused = await server.http.post("/admin/logout", headers=headers)
    assert refused.status_code == 403 and "expired" in refused.text
    assert (await server.http.post("/admin/logout", data={"csrf": "forged"}, headers=headers)).status_code == 403
    assert (await server.http.get("/admin/", headers=headers)).status_code == 200  # still signed in
    out = await server.http.post("/admin/logout", data={"csrf": await csrf_of(server, headers)}, headers=headers)
    assert (out.status_code, out.headers["location"]) == (303, "/admin/login")
    assert (await server.http.get("/admin/", headers=headers)).status_code == 303  # the session row is gone


async def test_session_cookie_flags_and_idle_expiry(server: Server) -> None:
    response = await sign_in(server, await user(server, "sales"))
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    headers = {"cookie": f"{COOKIE}={response.cookies[COOKIE]}"}
    assert (await server.http.get("/admin/leads", headers=headers)).status_code == 200
    server.clock.advance(IDLE + 1)
    assert (await server.http.get("/admin/leads", headers=headers)).status_code == 303
    forged = {"cookie": f"{COOKIE}=not-signed"}
    assert (await server.http.get("/admin/leads", headers=forged)).status_code == 303


async def test_a_disabled_users_sessions_stop_working(server: Server) -> None:
    headers = await session_of(server, "sales")
    assert (await server.http.get("/admin/leads", headers=headers)).status_code == 200
    await console_users(server).disable("sales@example.com")
    assert (await server.http.get("/admin/leads", headers=headers)).status_code == 303
    assert (await sign_in(server, "sales@example.com")).status_code == 401


async def test_the_role_matrix_over_every_console_route(server: Server) -> None:
    await marc_journey(server)
    lead = (await server.api("/api/leads", stage="sql"))["leads"][0]["id"]
    account = (await server.api("/api/accounts"))["accounts"][0]["id"]  # Marc's company, by his e-mail's domain
    sessions = {role: await session_of(server, role) for role in USER_ROLES}
    walked = 0
    for route in server.app.routes:
        if not isinstance(route, Route) or not (route.path == "/" or route.path.startswith("/admin")):
            continue
        path = (
            route.path.replace("{person_id}", str(lead))
            .replace("{campaign_id}", "sales-popup")
            .replace("{key}", "demo")
            .replace("{account_id}", str(account))
        )
        methods = sorted((route.methods or set()) - {"HEAD"})
        if route.path in PUBLIC:
            continue
        permission = getattr(route.endpoint, "permission", None)
        assert permission in MATRIX, f"{route.path} names no permission of the role matrix"
        for method in methods:
            anonymous = await server.http.request(method, path)
            assert anonymous.status_code == 303, (method, path)
            assert urlsplit(anonymous.headers["location"]).path == "/admin/login"
            assert parse_qs(urlsplit(anonymous.headers["location"]).query)["next"] == [path]
            for role, headers in sessions.items():
                data = {"csrf": await csrf_of(server, headers)} if method != "GET" else None
                response = await server.http.request(method, path, headers=headers, data=data)
                allowed = role in MATRIX[permission]
                if not allowed:
                    assert response.status_code == 403 and "Not allowed" in response.text, (role, method, path)
                else:
                    # A form sent with its token alone is bad input (400) or names no base version
                    # (stale, 409): the permission let it through to the form's own checks.
                    expected = (200, 303) if method == "GET" else (200, 303, 400, 409)
                    assert response.status_code in expected, (role, method, path, response.text)
                signed_out = (await server.http.get("/admin/", headers=headers)).status_code == 303
                if signed_out:  # signing out: sign in again for the next route
                    sessions[role] = await session_of_again(server, role)
            walked += 1
    assert walked >= 5


async def session_of_again(server: Server, role: str) -> dict[str, str]:
    response = await sign_in(server, f"{role}@example.com")
    assert response.status_code == 303
    return {"cookie": f"{COOKIE}={response.cookies[COOKIE]}"}
