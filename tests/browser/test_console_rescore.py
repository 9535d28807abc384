"""What-if and re-scoring in Chromium, on the demo's generated month: marketing makes white paper B worth
more in a draft, asks "What would this change?" (replayed in a child process), publishes and re-scores
history, and watches it finish."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Dialog, expect

from .conftest import Tracker, screenshot, serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracker]:
    # Its own server: the re-scoring moves leads other tests' demo counts on.  Every what-if is replayed
    # in a child process, as a large site's: the demo's month is too small to be sent there otherwise.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRACKER_WHAT_IF_APART_PEOPLE", "0")
        with serving(tmp_path_factory.mktemp("rescore-demo")) as running:
            yield running


def test_what_if_from_the_draft_then_rescore_with_progress(context: BrowserContext, demo: Tracker) -> None:
    page = demo.signed_in(context, "marketing")
    page.goto(demo.url("/admin/programme/edit?site=demo"))
    page.get_by_label("wp_choose", exact=True).fill("8")
    page.get_by_role("button", name="Save tokens").click()
    expect(page.get_by_text("Saved in your draft")).to_be_visible()
    page.locator("#what-if").click()

    expect(page.locator("h1")).to_contain_text("What would this change?")
    # Replayed by a child process: a progress bar until htmx reloads the page with the result, unless the
    # child was done within the page's 2 s.
    expect(page.locator("#rescore-counts")).to_contain_text("people change stage", timeout=30_000)
    expect(page.locator("#what-if-replayed")).to_contain_text("Replayed on")
    moved = page.locator("#moved tbody tr")
    expect(moved.first).to_be_visible()
    changed = int(page.locator("#rescore-counts strong").inner_text().split()[0])
    assert changed > 0
    screenshot(page, "programme-what-if")

    page.goto(demo.url("/admin/programme/edit?site=demo"))
    page.get_by_label("What changes, and why").fill("White paper B shows a real project")
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Programme version 2")

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Re-score history with version 2").click()
    expect(page.locator("h1")).to_contain_text("Re-score history")
    # htmx polls the progress block every second until the job is done.
    expect(page.locator("#rescore-status")).to_have_text("Done", timeout=20_000)
    expect(page.locator("#rescore-counts strong")).to_have_text(f"{changed} people change stage.")
    screenshot(page, "programme-rescore")
    page.locator("#moved a").first.click()
    expect(page.locator(".ledger .rescored").first).to_contain_text("rescored by version 2")
    screenshot(page, "lead-rescored")
