"""The admin console in Chromium: an admin creates a sales user whose link works, creates a key
(shown once) and revokes it; a POST without the CSRF token is refused; sign-in is throttled; and
every console GET route answers each role as the role matrix says."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from starlette.routing import Route

from tracker.app import routes
from tracker.config import Settings
from tracker.domain.roles import MATRIX, USER_ROLES

from .conftest import CONSOLE_PASSWORD, Tracker, screenshot
from .test_console import CHROME_UA

pytestmark = pytest.mark.browser

# Open without a session (tests/test_admin.py: PUBLIC).
PUBLIC = {"/", "/admin/login", "/admin/setup", "/admin/console.css", "/admin/console.js", "/admin/htmx.js"}


def open_page(page: Page, tracker: Tracker, path: str) -> int:
    if path.endswith("/export"):  # a download, not a page: fetched with the page's session
        return page.request.get(tracker.url(path), max_redirects=0).status
    response = page.goto(tracker.url(path))
    assert response is not None
    return response.status


def test_an_admin_creates_a_sales_user_whose_link_works(context: BrowserContext, tracker: Tracker) -> None:
    page = tracker.signed_in(context, "admin")
    page.goto(tracker.url("/admin/users"))
    email = f"chloe-{uuid.uuid4().hex[:6]}@example.com"
    page.locator("#email").fill(email)
    page.locator("#role").select_option("sales")
    page.locator("#owner").fill("chloe")
    page.get_by_role("button", name="Create and show the setup link").click()
    link = page.locator("#secret").input_value()
    assert link.startswith(tracker.url("/admin/setup?t="))
    screenshot(page, "admin-users-created")
    page.reload()  # a reload shows the list, never the link again
    expect(page.get_by_role("cell", name=email)).to_be_visible()
    assert link not in page.content()

    other = context.browser.new_context()  # type: ignore[union-attr]
    try:
        them = other.new_page()
        them.goto(link)
        them.locator("#password").fill(CONSOLE_PASSWORD)
        them.locator("#confirm").fill(CONSOLE_PASSWORD)
        them.get_by_role("button", name="Set password and sign in").click()
        expect(them.get_by_text(f"{email} (sales)")).to_be_visible()
        assert open_page(them, tracker, "/admin/users") == 403
    finally:
        other.close()


def test_an_admin_creates_a_key_shown_once_and_revokes_it(context: BrowserContext, tracker: Tracker) -> None:
    page = tracker.signed_in(context, "admin")
    page.goto(tracker.url("/admin/keys"))
    name = f"crm-{uuid.uuid4().hex[:6]}"
    page.locator("#site").select_option("demo")
    page.locator("#role").select_option("sales")
    page.locator("#name").fill(name)
    page.get_by_role("button", name="Create the key").click()
    key = page.locator("#secret").input_value()
    assert key.startswith("tk_")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=tracker.base)
    copy = page.get_by_role("button", name="Copy")
    copy.click()
    expect(copy).to_have_attribute("data-copied", "")
    assert page.evaluate("navigator.clipboard.readText()") == key
    screenshot(page, "admin-keys-created")
    bearer = {"authorization": f"Bearer {key}"}
    assert httpx.get(tracker.url("/api/leads"), headers=bearer, timeout=10).status_code == 200
    page.goto(tracker.url("/admin/keys"))
    assert key not in page.content()
    row = page.locator("tr", has_text=name)
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    page.wait_for_url(tracker.url("/admin/keys"))
    expect(page.locator("tr", has_text=name)).to_have_count(0)
    assert httpx.get(tracker.url("/api/leads"), headers=bearer, timeout=10).status_code == 401


def test_a_post_without_the_csrf_token_is_refused_and_sign_in_is_throttled(
    context: BrowserContext, tracker: Tracker
) -> None:
    page = tracker.signed_in(context, "admin")
    forged = page.request.post(tracker.url("/admin/users"), form={"email": "evil@example.com", "role": "admin"})
    assert forged.status == 403
    page.goto(tracker.url("/admin/users"))
    assert "evil@example.com" not in page.content()

    # A distinct user, so the other tests' sign-ins are not throttled by this one.
    target = f"throttled-{uuid.uuid4().hex[:6]}@example.com"
    stranger = context.browser.new_context()  # type: ignore[union-attr]
    try:
        login = stranger.new_page()
        statuses = []
        for _ in range(6):
            login.goto(tracker.url("/admin/login"))
            login.locator("#email").fill(target)
            login.locator("#password").fill("not the password")
            with login.expect_response(lambda r: r.url.endswith("/admin/login") and r.request.method == "POST") as sent:
                login.locator("form button[type=submit]").click()
            statuses.append(sent.value.status)
        assert statuses == [401] * 5 + [429]
        expect(login.get_by_text("Too many sign-in attempts")).to_be_visible()
        screenshot(login, "admin-sign-in-throttled")
    finally:
        stranger.close()


def a_lead(tracker: Tracker) -> int:
    """An identified visitor's lead id, for the routes that show one lead."""
    answer = httpx.post(
        tracker.url("/collect"),
        json={
            "site": "demo",
            "events": [
                {
                    "type": "form",
                    "name": "newsletter",
                    "url": tracker.url("/demo/"),
                    "props": {"email": "matrix@example.com"},
                }
            ],
        },
        headers={"user-agent": CHROME_UA, "origin": tracker.base},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return int(tracker.api("/api/leads?stage=known")["leads"][0]["id"])


def test_the_role_matrix_over_every_console_get_route(context: BrowserContext, tracker: Tracker) -> None:
    samples = {"{person_id}": str(a_lead(tracker)), "{key}": "demo", "{campaign_id}": "sales-popup"}
    samples["{account_id}"] = str(tracker.api("/api/accounts")["accounts"][0]["id"])  # the lead's company
    walked: list[tuple[str, str]] = []
    for route in routes(Settings(demo=True)):
        if not isinstance(route, Route) or "GET" not in (route.methods or set()) or route.path in PUBLIC:
            continue
        if not route.path.startswith("/admin"):
            continue
        path = route.path
        for placeholder, value in samples.items():
            path = path.replace(placeholder, value)
        assert "{" not in path, f"add a sample value for {route.path} to this test"
        permission = getattr(route.endpoint, "permission", None)
        assert permission in MATRIX, f"{route.path} names no permission of the role matrix"
        walked.append((path, permission))
    assert len(walked) >= 10
    for role in USER_ROLES:
        page = tracker.signed_in(context, role)
        for path, permission in walked:
            expected = 200 if role in MATRIX[permission] else 403
            assert open_page(page, tracker, path) == expected, (role, path)
            if role == "admin" and not path.endswith("/export"):
                screenshot(page, f"admin{path.replace('/', '-')}")
        page.close()
