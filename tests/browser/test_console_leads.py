"""The sales console in Chromium: Marc's lead, met on a phone and a laptop, understood from its page;
an outcome recorded there shows in the timeline and in the CSV the browser downloads."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from .conftest import Tracker, screenshot
from .test_journeys import QUALITY_POSTS, download, visit

pytestmark = pytest.mark.browser

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, user_agent=PHONE_UA, is_mobile=True)
    context.set_default_timeout(10_000)
    yield context
    context.close()


def identify(page: Page, email: str) -> None:
    """What a site's own sign-in does: the beacon's identify call."""
    page.evaluate("email => window.tracker.identify({email})", email)


def marc_on_two_devices(phone: BrowserContext, laptop: BrowserContext, tracker: Tracker, email: str) -> int:
    """Seed 000 across devices: white papers A and B on the phone (7), three quality posts on the laptop (6)."""
    mobile = phone.new_page()
    visit(mobile, tracker.url("/demo/"))
    download(mobile, tracker, "livre-blanc-a")
    download(mobile, tracker, "livre-blanc-b")
    identify(mobile, email)
    tracker.wait_for_lead(mobile, lambda lead: lead["email"] == email)
    desktop = laptop.new_page()
    for post in QUALITY_POSTS[:3]:
        visit(desktop, tracker.url(post))
    identify(desktop, email)
    lead = tracker.wait_for_lead(desktop, lambda lead: lead["stage"] == "sql")
    assert lead["scores"]["engagement"] == 13 and len(lead["devices"]) == 2
    return int(lead["id"])


def test_marcs_lead_page_and_an_outcome_recorded_and_exported(
    phone: BrowserContext, context: BrowserContext, tracker: Tracker
) -> None:
    email = f"marc.{uuid.uuid4().hex[:8]}@example.test"
    lead_id = marc_on_two_devices(phone, context, tracker, email)
    sales = tracker.signed_in(context, "sales")
    sales.goto(tracker.url(f"/admin/leads?q={email}"))
    screenshot(sales, "console-leads")
    sales.get_by_role("link", name=email).click()
    expect(sales).to_have_url(tracker.url(f"/admin/leads/{lead_id}"))

    expect(sales.locator('.lead-summary [data-score="engagement"]')).to_have_text("13")
    chart = sales.locator('svg.score-chart[data-score="engagement"]')
    expect(chart).to_be_visible()
    expect(chart.locator("line.threshold")).to_have_count(2)
    ledger = sales.locator("ul.ledger")
    expect(ledger).to_contain_text("+2 Livre blanc A")
    expect(ledger).to_contain_text("+5 Livre blanc B")
    expect(ledger.locator("li", has_text="Article qualité")).to_have_count(3)
    visits = sales.locator("article.visit")
    expect(visits).to_have_count(2)
    expect(visits.filter(has_text="mobile")).to_contain_text("/demo/files/livre-blanc-b.pdf")
    expect(visits.filter(has_text="desktop")).to_contain_text(QUALITY_POSTS[2])
    screenshot(sales, "console-lead-marc")

    sales.get_by_role("radio", name="won").check()
    sales.get_by_label("Value (won)").fill("18000")
    sales.get_by_role("button", name="Record", exact=True).click()
    expect(sales).to_have_url(re.compile(rf"/admin/leads/{lead_id}"))
    recorded = sales.locator("article.visit.by-sales")
    expect(recorded).to_contain_text("won")
    expect(recorded).to_contain_text("18,000")
    screenshot(sales, "console-lead-outcome")

    sales.goto(tracker.url(f"/admin/leads?q={email}"))
    expect(sales.locator("table.leads")).to_contain_text("won")
    with sales.expect_download() as downloading:
        sales.get_by_role("link", name="Download CSV").click()
    path = downloading.value.path()
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [(row["email"], row["outcome"], row["outcome_value"]) for row in rows] == [(email, "won", "18000.0")]
