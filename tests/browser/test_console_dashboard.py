"""The dashboard in Chromium, on a demo started with its generated history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, expect

from .conftest import Tracker, screenshot, serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracker]:
    with serving(tmp_path_factory.mktemp("demo-history")) as running:
        yield running


def test_marketing_opens_the_demo_dashboard_and_sees_its_charts(context: BrowserContext, demo: Tracker) -> None:
    page = demo.signed_in(context, "marketing")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    # The month of generated visitors fills the page: people in every stage, qualified leads.
    for stage in ("anonymous", "known", "mql", "sql"):
        assert int(page.locator(f'td[data-stage="{stage}"]').inner_text().replace(",", "")) > 0
    assert int(page.locator('[data-figure="sql-week"]').inner_text()) > 0
    # Each chart is drawn and named; its bars are visible shapes with a value in their title.
    for name in ("New MQL and SQL per day, last 14 days", "Ignored events per day, last 14 days"):
        chart = page.get_by_role("img", name=name)
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 60
    bars = page.locator("svg.columns rect.bar")
    assert bars.count() > 10
    expect(bars.first).to_be_visible()
    assert page.locator("svg.columns rect.series-bot").count() == 14  # bots every day
    expect(page.get_by_role("navigation", name="Shortcuts").get_by_role("link", name="Campaigns")).to_be_visible()
    # The same numbers as a table, for anyone who would rather read.
    page.get_by_text("Numbers").first.click()
    expect(page.locator("details[open] table")).to_be_visible()
    screenshot(page, "console-dashboard")
