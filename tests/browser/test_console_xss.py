"""Hostile text a visitor typed, in Chromium: the lead list and the lead page show it as text and
run none of it (no dialog opens, no element is injected)."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import BrowserContext, Dialog, expect

from .conftest import CHROMIUM_ARGS, Tracker, screenshot

pytestmark = pytest.mark.browser

CHROME_UA = CHROMIUM_ARGS[-1].removeprefix("--user-agent=")
SCRIPT, IMAGE, LINK = "<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', "javascript:alert(3)"


def test_what_a_visitor_typed_shows_as_text_and_never_runs(context: BrowserContext, tracker: Tracker) -> None:
    email = f"x+{uuid.uuid4().hex[:6]}@example.com"
    page_url = tracker.url(f"/demo/?utm_source={SCRIPT}&utm_campaign={IMAGE}")
    events = [
        {"type": "page", "url": page_url, "referrer": tracker.url(f"/{IMAGE}"), "props": {"q": SCRIPT}},
        {"type": "download", "url": tracker.url(f"/{LINK}")},
        {"type": "custom", "name": IMAGE, "url": tracker.url(f"/demo/{SCRIPT}")},
        {
            "type": "form",
            "name": "contact",
            "url": tracker.url("/demo/contact"),
            "props": {"email": email, "company": SCRIPT, "job_title": IMAGE, "first_name": LINK},
        },
    ]
    sent = httpx.post(
        tracker.url("/collect"),
        json={"site": "demo", "events": events},
        headers={"user-agent": CHROME_UA, "origin": tracker.base},
        timeout=10,
    )
    assert sent.status_code == 200, sent.text

    page = tracker.signed_in(context, "sales")
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    page.goto(tracker.url(f"/admin/leads?{urlencode({'q': email})}"))
    row = page.get_by_role("row").filter(has_text=email)
    expect(row).to_contain_text(SCRIPT)  # the company, as text
    row.get_by_role("link", name=email).click()
    expect(page.get_by_role("heading", name=email)).to_be_visible()
    expect(page.get_by_text(SCRIPT).first).to_be_visible()
    expect(page.get_by_text(IMAGE).first).to_be_visible()
    assert page.locator("img[src=x]").count() == 0  # nothing injected
    assert page.locator("a[href^='javascript:' i]").count() == 0
    screenshot(page, "console-lead-hostile-text")
    assert dialogs == []
