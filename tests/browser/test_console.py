"""The console in Chromium: a user set up from the CLI's one-time link signs in and opens a lead."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from .conftest import CHROMIUM_ARGS, Tracker

pytestmark = pytest.mark.browser

CHROME_UA = CHROMIUM_ARGS[-1].removeprefix("--user-agent=")
PASSWORD = "a long enough password"


def test_sales_signs_in_and_opens_a_lead(context: BrowserContext, tracker: Tracker) -> None:
    link = tracker.user_link("sally@example.com", "sales")
    assert link.startswith(tracker.url("/admin/setup?t="))
    # A lead to open: a visitor who identified through a form.
    answer = httpx.post(
        tracker.url("/collect"),
        json={
            "site": "demo",
            "events": [
                {"type": "download", "url": tracker.url("/demo/files/livre-blanc-b.pdf")},
                {
                    "type": "form",
                    "name": "newsletter",
                    "url": tracker.url("/demo/"),
                    "props": {"email": "noemie@example.com"},
                },
            ],
        },
        headers={"user-agent": CHROME_UA, "origin": tracker.base},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text

    page = context.new_page()
    page.goto(link)
    page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_text("sally@example.com (sales)")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(tracker.url("/admin/login"))

    page.goto(tracker.url("/admin/leads"))  # anonymous: sent to sign in, then back here
    page.get_by_label("E-mail").fill("sally@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(tracker.url("/admin/leads"))
    expect(page.get_by_role("link", name="Download CSV")).to_be_visible()
    page.get_by_role("link", name="noemie@example.com").click()
    expect(page.get_by_role("heading", name="noemie@example.com")).to_be_visible()
    expect(page.locator('.lead-summary [data-score="engagement"]')).to_have_text("5")
    expect(page.locator("ul.ledger")).to_contain_text("+5 Livre blanc B")
    page.screenshot(path=str(tracker.data / "console-lead.png"), full_page=True)
