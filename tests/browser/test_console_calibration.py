"""The calibration reports in Chromium, on a demo started with its generated history plus
outcomes recorded through the sales API."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from ..conftest import TLS
from .conftest import Tracker, screenshot, serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracker]:
    with serving(tmp_path_factory.mktemp("calibration")) as running:
        # Sales wins most sales-qualified leads and a few of the others.
        sql = [lead["id"] for lead in running.api("/api/leads?stage=sql&limit=40")["leads"]]
        known = [lead["id"] for lead in running.api("/api/leads?stage=known&limit=40")["leads"]]
        for person_id in sql[::2] + known[::8]:
            answer = httpx.post(
                running.url(f"/api/leads/{person_id}/outcome"),
                json={"kind": "won", "value": 5000},
                headers={"Authorization": f"Bearer {running.key}"},
                timeout=10,
                verify=TLS,  # a client per request: on the suite's TLS context, not a new CA bundle load
            )
            assert answer.status_code == 201, answer.text
        yield running


def test_marketing_reads_the_calibration_reports(context: BrowserContext, demo: Tracker) -> None:
    page = demo.signed_in(context, "marketing")
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Calibration reports")).to_be_visible()
    assert int(page.locator('[data-figure="converted"]').inner_text()) > 0
    # Conversion per band: a dot and whisker per band, the threshold in force drawn as a line.
    chart = page.get_by_role("img", name="Conversion rate per score band, with its 95 % interval")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 60
    assert page.locator("svg.rates circle.dot").count() > 1
    expect(page.locator("svg.rates line.marker-sql")).to_be_attached()
    expect(page.locator("[data-verdict]")).to_contain_text("SQL threshold (12)")
    # Behaviours: a row per rule of the programme, its lift drawn in the row.
    expect(page.locator('tr[data-behaviour="rule:wp-c"]')).to_be_visible()
    assert page.locator("svg.lift").count() > 3
    # Every score's histogram, and its numbers behind "Numbers".
    expect(page.get_by_role("img", name="Leads per band of engagement")).to_be_visible()
    # Asking for wider bands and meetings too keeps the choices in the form.
    page.locator("#width").fill("4")
    page.get_by_role("checkbox", name="meeting").check()
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#width")).to_have_value("4")
    expect(page.get_by_role("checkbox", name="meeting")).to_be_checked()
    # The period's end, shown as a day, still includes today's conversions.
    assert int(page.locator('[data-figure="converted"]').inner_text()) > 0
    screenshot(page, "console-calibration")
