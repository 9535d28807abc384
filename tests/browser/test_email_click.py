"""End to end: a click on an e-mail link in real headless Chromium, on a device the person never
used, lands on the demo site, and the next page view (the real beacon) scores for that person."""

from __future__ import annotations

import sqlite3
import time

import pytest
from playwright.sync_api import Browser

from tracker.config import Settings
from tracker.domain.email_links import EmailLinks, Link, click_url

from .conftest import Tracker, screenshot
from .test_journeys import carries, submit_contact_form

pytestmark = pytest.mark.browser

POST = "/demo/blog/qualite/sav-sous-48-heures"


def test_an_email_click_lands_on_the_site_and_the_next_page_view_scores_for_the_person(
    browser: Browser, tracker: Tracker
) -> None:
    email = "bastien.roux@example.test"
    office, phone = browser.new_context(), browser.new_context(is_mobile=True, has_touch=True)
    try:
        desk = office.new_page()
        submit_contact_form(desk, tracker, email)
        person = tracker.wait_for_lead(desk, lambda lead: lead["email"] == email)["id"]

        # The newsletter was sent an hour ago (a click within seconds of sending is a scanner's).
        with sqlite3.connect(tracker.data / "tracker.db") as db:
            [site_id] = db.execute("SELECT id FROM sites WHERE key = 'demo'").fetchone()
        links = EmailLinks(Settings(data_dir=tracker.data).signing_secret())
        target = tracker.url(POST)
        link = click_url(
            tracker.base, links.click_token(Link(site_id, person, "newsletter-nov", time.time() - 3600, target))
        )

        mobile = phone.new_page()
        with mobile.expect_response(lambda r: carries(r, "page", url=target)) as answer:
            mobile.goto(link)
        assert mobile.url == target
        assert answer.value.ok
        screenshot(mobile, "email-click-landing")
        assert tracker.person_of(mobile) == person  # the beacon's token is the person's new device

        lead = tracker.wait_for_lead(
            mobile, lambda lead: any(row["rule_id"] == "quality-blog" for row in lead["ledger"])
        )
        [scored] = [row for row in lead["ledger"] if row["rule_id"] == "quality-blog"]
        timeline = {event["id"]: event for event in lead["timeline"]}
        assert timeline[scored["event_id"]]["url"] == target
        clicks = [event for event in lead["timeline"] if event["type"] == "email_click"]
        assert [(event["name"], event["url"]) for event in clicks] == [("newsletter-nov", target)]
        devices = {event["device"] for event in lead["timeline"]}
        assert timeline[scored["event_id"]]["device"] == clicks[0]["device"] and len(devices) == 2
    finally:
        office.close()
        phone.close()
