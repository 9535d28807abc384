"""The two-sided threshold approval in Chromium (seed 004): marketing alone changes nothing; once
sales approves, the new threshold is in force and the next event is scored against it."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from .conftest import CHROMIUM_ARGS, Tracker, screenshot

pytestmark = pytest.mark.browser

CHROME_UA = CHROMIUM_ARGS[-1].removeprefix("--user-agent=")


def propose(page: Page, tracker: Tracker, sql: str, reason: str) -> None:
    page.goto(tracker.url("/admin/thresholds?site=demo"))
    page.get_by_label("Score").select_option("engagement")
    page.get_by_label("New SQL threshold").fill(sql)
    page.get_by_label("Why").fill(reason)
    page.get_by_role("button", name="Propose", exact=True).click()
    expect(page.locator(".notice")).to_contain_text("Proposal recorded")


def sql_in_force(page: Page) -> str:
    return page.locator('tr[data-score="engagement"] td[data-level="sql"]').inner_text()


def programme_sql(page: Page, tracker: Tracker) -> str:
    page.goto(tracker.url("/admin/programme?site=demo"))
    row = page.locator("tr", has=page.get_by_role("rowheader", name="engagement", exact=True)).first
    return row.locator("td").nth(1).inner_text()  # Score | MQL at | SQL at


def stage_after_white_paper_c(tracker: Tracker, email: str) -> str:
    """A new visitor signs up and downloads white paper C (12 points): their stage."""
    events = [
        {"type": "form", "name": "newsletter", "url": tracker.url("/demo/"), "props": {"email": email}},
        {"type": "download", "url": tracker.url("/demo/files/livre-blanc-c.pdf")},
    ]
    answer = httpx.post(
        tracker.url("/collect"),
        json={"site": "demo", "events": events},
        headers={"user-agent": CHROME_UA, "origin": tracker.base},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    person = tracker.api(f"/api/visitors/{answer.json()['vid']}")["person_id"]
    stage: str = tracker.api(f"/api/leads/{person}")["stage"]
    return stage


def test_a_threshold_change_needs_marketing_and_sales(
    context: BrowserContext, browser: Browser, tracker: Tracker
) -> None:
    marketing = tracker.signed_in(context, "marketing")
    propose(marketing, tracker, "14", "Reps say 12 points is too early to call.")
    proposal = marketing.locator(".proposal", has_text="Reps say 12 points")
    expect(proposal.locator('[data-side="marketing"]')).to_contain_text("approved by marketing-")
    expect(proposal.locator('[data-side="sales"]')).to_have_text("waiting")
    assert sql_in_force(marketing) == "12"
    screenshot(marketing, "thresholds-proposed-by-marketing")
    assert programme_sql(marketing, tracker) == "12"  # marketing alone: not active
    assert stage_after_white_paper_c(tracker, "before-agreement@example.com") == "sql"

    sales_context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        sales = tracker.signed_in(sales_context, "sales")
        # Signing in opens the dashboard, where both sides see what waits for them.
        expect(sales.get_by_role("heading", name="Threshold changes waiting for a decision")).to_be_visible()
        pending = sales.locator(".proposal", has_text="Reps say 12 points")
        expect(pending.get_by_role("button", name="Approve for Sales")).to_be_visible()
        screenshot(sales, "thresholds-waiting-for-sales")
        pending.get_by_role("button", name="Approve for Sales").click()
        expect(sales.locator(".notice")).to_contain_text("the new thresholds are active")
        assert sql_in_force(sales) == "14"
        expect(sales.locator('tr[data-status="applied"]').first).to_contain_text("Applied (programme version")
        screenshot(sales, "thresholds-applied")
        assert programme_sql(sales, tracker) == "14"  # both sides: active
        # The next event is scored against 14: white paper C's 12 points no longer make a SQL.
        assert stage_after_white_paper_c(tracker, "after-agreement@example.com") == "mql"

        # Back to 12 for the other tests on this server: sales proposes, marketing approves.
        propose(sales, tracker, "12", "Back to the agreed value.")
        marketing.goto(tracker.url("/admin/thresholds?site=demo"))
        marketing.locator(".proposal", has_text="Back to the agreed value").get_by_role(
            "button", name="Approve for Marketing"
        ).click()
        expect(marketing.locator(".notice")).to_contain_text("the new thresholds are active")
        assert sql_in_force(marketing) == "12"
    finally:
        sales_context.close()
