"""A campaign experiment on its console page in Chromium: the table and chart of each arm's results,
then keeping the winner, confirmed by the marketer, published for everybody."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, expect

from ..conftest import CHROME, TLS
from ..test_services_experiments import PROGRAMME
from .conftest import Tracker, screenshot

pytestmark = pytest.mark.browser

SITE = "essais"
VISITORS = 12


def visit(tracker: Tracker) -> None:
    """``VISITORS`` new visitors meet the campaign; those shown a variant convert on it."""
    headers = {"user-agent": CHROME}
    for _ in range(VISITORS):
        answer = httpx.post(
            tracker.url("/collect"),
            json={"site": SITE, "events": [{"type": "page"}]},
            headers=headers,
            timeout=10,
            verify=TLS,
        )
        assert answer.status_code == 200, answer.text
        if any(decision["campaign"] == "offer" for decision in answer.json()["decisions"]):
            conversion = {"type": "conversion", "props": {"campaign": "offer"}}
            body = {"site": SITE, "vid": answer.json()["vid"], "events": [conversion]}
            httpx.post(tracker.url("/collect"), json=body, headers=headers, timeout=10, verify=TLS).raise_for_status()


def add_site(tracker: Tracker, tmp_path: Path) -> None:
    programme = tmp_path / "essais.toml"
    programme.write_text(PROGRAMME, encoding="utf-8")
    tracker.cli("sites", "add", SITE, "--programme", str(programme))
    # The server loads the new site within RELOAD_SECONDS; until then it answers 404.
    deadline = time.monotonic() + 15
    probe = {"site": SITE, "events": [{"type": ""}]}  # refused as bad input once the site exists: no visitor made
    while httpx.post(tracker.url("/collect"), json=probe, timeout=5, verify=TLS).status_code == 404:
        assert time.monotonic() < deadline, "the live server never loaded the new site"
        time.sleep(0.2)


def test_the_experiment_table_and_keeping_the_winner(browser: Browser, tracker: Tracker, tmp_path: Path) -> None:
    add_site(tracker, tmp_path)
    visit(tracker)
    console = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        marketer = tracker.signed_in(console, "marketing")
        marketer.goto(tracker.url(f"/admin/campaigns/offer?site={SITE}"))
        section = marketer.locator("#experiment")
        table = section.get_by_role("table")
        rows = table.locator("tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0).get_by_role("rowheader")).to_have_text("Control (held out)")
        expect(rows.nth(1).get_by_role("rowheader")).to_have_text("b")
        people = [int(rows.nth(n).locator("td").nth(1).inner_text()) for n in range(2)]
        assert sum(people) == VISITORS
        # Everybody shown b converted; nobody held out could.
        expect(rows.nth(1).locator("td").nth(2)).to_have_text(str(people[1]))
        expect(rows.nth(0).locator("td").nth(2)).to_have_text("0")
        expect(section.locator("svg.experiment-chart rect.bar")).to_have_count(2)
        screenshot(marketer, "campaign-experiment")

        asked: list[str] = []

        def confirm(dialog: Dialog) -> None:
            asked.append(dialog.message)
            dialog.accept()

        marketer.once("dialog", confirm)
        rows.nth(1).get_by_role("button", name="Keep for everybody").click()
        expect(marketer.get_by_role("status")).to_have_text("Saved and published.")
        assert asked == ["Show b to everybody and end the experiment?"]
        expect(section.get_by_role("heading", name="Experiment ended")).to_be_visible()
        expect(section.get_by_role("button", name="Keep for everybody")).to_have_count(0)
        expect(marketer.get_by_label("Text", exact=True)).to_have_value("Livraison offerte ce mois-ci")
        screenshot(marketer, "campaign-experiment-kept")
    finally:
        console.close()
