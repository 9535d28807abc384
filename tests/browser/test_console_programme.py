"""The programme editor in Chromium: marketing changes a token and publishes, the new version shows its
diff and the next beacon event scores with the new value; a stale publish names the other publisher."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from .conftest import CHROMIUM_ARGS, Tracker, screenshot

pytestmark = pytest.mark.browser

CHROME_UA = CHROMIUM_ARGS[-1].removeprefix("--user-agent=")
RELOAD_SECONDS = 5


def active_version(page: Page, tracker: Tracker) -> int:
    page.goto(tracker.url("/admin/programme?site=demo"))
    found = re.search(r"version (\d+)", page.locator("h1").inner_text())
    assert found, page.locator("h1").inner_text()
    return int(found.group(1))


def roll_back(page: Page, tracker: Tracker, number: int) -> None:
    """Put the demo programme back as it was, for the browser tests that run after these."""
    page.goto(tracker.url("/admin/programme/versions?site=demo"))
    page.locator(f"#rollback-{number}").fill("back to the seed for the next tests")
    page.get_by_role("button", name=f"Roll back to version {number}", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Programme version")


def engagement_after_download(tracker: Tracker, paper: str) -> float:
    """A new visitor downloads ``paper``: their engagement as the server scored it."""
    answer = httpx.post(
        tracker.url("/collect"),
        json={"site": "demo", "events": [{"type": "download", "url": tracker.url(f"/demo/files/{paper}")}]},
        headers={"user-agent": CHROME_UA, "origin": tracker.base},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    person = tracker.api(f"/api/visitors/{answer.json()['vid']}")["person_id"]
    return float(tracker.api(f"/api/leads/{person}")["scores"]["engagement"])


def test_marketing_edits_a_token_publishes_and_the_next_event_scores_with_it(
    context: BrowserContext, tracker: Tracker
) -> None:
    page = tracker.signed_in(context, "marketing")
    seed = active_version(page, tracker)
    screenshot(page, "programme")
    page.get_by_role("link", name="Edit", exact=True).first.click()
    page.get_by_label("wp_vision", exact=True).fill("15")
    page.get_by_role("button", name="Save tokens").click()
    expect(page.get_by_text("Saved in your draft")).to_be_visible()
    expect(page.get_by_text("token wp_vision 12 → 15")).to_be_visible()
    screenshot(page, "programme-edit")
    page.get_by_label("What changes, and why").fill("White paper C shows stronger intent")
    page.get_by_role("button", name="Publish", exact=True).click()

    expect(page.locator("h1")).to_contain_text(f"Programme version {seed + 1}")
    expect(page.get_by_text("rule wp-c: points 12 → 15")).to_be_visible()
    expect(page.locator(".diff-add").first).to_contain_text("wp_vision = 15")
    screenshot(page, "programme-version-diff")

    # Running servers pick the version up within RELOAD_SECONDS (this one at once).
    deadline = time.monotonic() + RELOAD_SECONDS * 2
    while (score := engagement_after_download(tracker, "livre-blanc-c.pdf")) != 15 and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert score == 15

    page.goto(tracker.url("/admin/programme/versions?site=demo"))
    expect(page.get_by_role("cell", name="White paper C shows stronger intent")).to_be_visible()
    screenshot(page, "programme-versions")
    page.goto(tracker.url("/admin/programme/rule?site=demo&id=field-sales"))
    expect(page.get_by_label("Event type (several: comma-separated; another name is a custom event)")).to_have_value(
        "page, view_product"
    )
    expect(page.locator("#prop-value-0")).to_have_value(">= 10000")
    screenshot(page, "programme-rule")
    roll_back(page, tracker, seed)
    assert engagement_after_download(tracker, "livre-blanc-c.pdf") == 12


def test_a_stale_publish_is_refused_naming_who_published_in_between(
    browser: Browser, context: BrowserContext, tracker: Tracker
) -> None:
    anne = tracker.signed_in(context, "marketing", "anne-programme@example.com")
    seed = active_version(anne, tracker)
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        bob = tracker.signed_in(other, "marketing", "bob-programme@example.com")
        for page in (anne, bob):
            page.goto(tracker.url("/admin/programme/edit?site=demo"))
        # Both start from the same version: Bob keeps a draft, Anne publishes first.
        bob.get_by_label("job_offers", exact=True).fill("-20")
        bob.get_by_role("button", name="Save tokens").click()
        anne.get_by_label("wp_choose", exact=True).fill("6")
        anne.get_by_role("button", name="Save tokens").click()
        anne.get_by_label("What changes, and why").fill("B is worth a bit more")
        anne.get_by_role("button", name="Publish", exact=True).click()
        expect(anne.locator("h1")).to_contain_text(f"Programme version {seed + 1}")

        bob.get_by_label("What changes, and why").fill("Job seekers weigh more")
        bob.get_by_role("button", name="Publish", exact=True).click()
        refusal = bob.locator("#stale")
        expect(refusal).to_contain_text(f"version {seed + 1} was published by anne-programme@example.com")
        # Nothing lost: Bob's text is still there, as his draft.
        expect(bob.locator("#toml")).to_contain_text("job_offers = -20")
        screenshot(bob, "programme-stale-publish")
        bob.reload()
        expect(bob.locator("#toml")).to_contain_text("job_offers = -20")
    finally:
        other.close()
    roll_back(anne, tracker, seed)
