"""Consent and GPC in headless Chromium against the live server.

A consent-required site sends, stores and sets nothing before the visitor says yes,
and keeps nothing of what happened before; a refusal makes the server expire the
HttpOnly cookie.  A GPC browser's page views are withheld, its form submission not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request

from tracker.app import DEMO_PROGRAMME

from ..conftest import TLS
from .conftest import HIDE, Console, Tracker, is_collect, sent_events

pytestmark = pytest.mark.browser

SITE = "rgpd"
FORM = (
    '<form id="newsletter" onsubmit="event.preventDefault()">'
    '<input name="email" value="lea@example.com"><button>OK</button></form>'
)


@pytest.fixture(scope="module")
def rgpd(tracker: Tracker) -> Tracker:
    """A consent-required site on the live server, with a sales key of its own."""
    tracker.cli("sites", "add", SITE, "--programme", str(DEMO_PROGRAMME), "--consent", "required")
    key = tracker.cli("keys", "create", "--role", "sales", "--site", SITE).strip().splitlines()[-1]
    # The server loads the new site within RELOAD_SECONDS; until then it answers 404.
    probe = {"site": SITE, "events": [{"type": "page"}]}
    deadline = time.monotonic() + 15
    while httpx.post(tracker.url("/collect"), json=probe, timeout=5, verify=TLS).status_code == 404:
        assert time.monotonic() < deadline, "the live server never loaded the new site"
        time.sleep(0.2)
    return Tracker(base=tracker.base, key=key, data=tracker.data)


def host_page(context: BrowserContext, tracker: Tracker, site: str, attrs: str = "") -> str:
    """A page on the tracker's own origin embedding the beacon for ``site``; returns its URL."""
    url = tracker.url(f"/host/{site}")
    html = (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Hôte</title><link rel="icon" href="data:,">'
        f'<script async src="/t.js" data-site="{site}" {attrs}></script></head>'
        f'<body style="height:3000px"><button data-tracker-event="cta">Devis</button>{FORM}</body></html>'
    )
    context.route(url, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
    return url


def watch(page: Page) -> list[Request]:
    collects: list[Request] = []
    page.on("request", lambda request: collects.append(request) if is_collect(request.url) else None)
    return collects


def tk_vid_cookies(context: BrowserContext) -> list[Any]:
    return [cookie for cookie in context.cookies() if cookie["name"] == "tk_vid"]


def do_everything(page: Page) -> None:
    """Scroll, click, submit a form with an e-mail, call the API, then hide the tab (which flushes)."""
    page.mouse.wheel(0, 1500)
    page.click("[data-tracker-event=cta]")
    page.click("#newsletter button")
    page.evaluate("tracker.track('pricing'); tracker.identify({email: 'lea@example.com'})")
    page.wait_for_timeout(1100)  # engaged time accrues
    page.evaluate(HIDE)
    page.wait_for_timeout(500)


def test_consent_required_sends_and_stores_nothing_before_consent(rgpd: Tracker, context: BrowserContext) -> None:
    url = host_page(context, rgpd, SITE, 'data-consent="required"')
    page = context.new_page()
    console = Console()
    console.watch(page)
    collects = watch(page)
    page.goto(url)
    do_everything(page)

    assert collects == []
    assert page.evaluate("[localStorage.getItem('tk_vid'), localStorage.getItem('tk_consent')]") == [None, None]
    assert tk_vid_cookies(context) == []
    assert rgpd.api("/api/leads?stage=anonymous,known,mql,sql")["leads"] == []

    page.evaluate("tracker.consent(true)")
    page.wait_for_function("localStorage.getItem('tk_vid')")
    [first] = collects
    body = json.loads(first.post_data or "{}")
    assert body["ctx"]["consent"] is True
    # Nothing done before the yes is kept: only the page view taken when it was given.
    assert [event["type"] for event in sent_events(first.post_data)] == ["page"]
    [cookie] = tk_vid_cookies(context)
    assert cookie["httpOnly"] is True
    lead = rgpd.lead_of(page)
    assert (lead["email"], [event["type"] for event in lead["timeline"]]) == (None, ["page"])
    assert console.errors == []


def test_refusal_makes_the_server_forget_the_device(rgpd: Tracker, context: BrowserContext) -> None:
    url = host_page(context, rgpd, SITE, 'data-consent="required"')
    page = context.new_page()
    collects = watch(page)
    page.goto(url)
    page.evaluate("tracker.consent(true)")
    page.wait_for_function("localStorage.getItem('tk_vid')")
    assert tk_vid_cookies(context)

    page.evaluate("tracker.consent(false)")
    deadline = time.monotonic() + 5
    while tk_vid_cookies(context) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert tk_vid_cookies(context) == []
    assert page.evaluate("localStorage.getItem('tk_vid')") is None
    withdrawal = json.loads(collects[-1].post_data or "{}")
    assert (withdrawal["ctx"]["consent"], withdrawal["events"]) == (False, [])

    sent = len(collects)
    page.reload()
    do_everything(page)
    assert len(collects) == sent


@pytest.fixture
def gpc_context(browser: Browser) -> Iterator[BrowserContext]:
    """A browser with Global Privacy Control on: it sends ``Sec-GPC: 1`` with every request."""
    context = browser.new_context(extra_http_headers={"Sec-GPC": "1"})
    context.set_default_timeout(10_000)
    yield context
    context.close()


def test_gpc_withholds_page_views_but_not_a_form(tracker: Tracker, gpc_context: BrowserContext) -> None:
    url = host_page(gpc_context, tracker, "demo")
    page = gpc_context.new_page()
    collects = watch(page)
    page.goto(url)
    page.wait_for_timeout(300)
    assert [event["type"] for event in sent_events(collects[0].post_data)] == ["page"]  # sent, not kept
    assert page.evaluate("localStorage.getItem('tk_vid')") is None
    page.click("#newsletter button")
    page.wait_for_function("localStorage.getItem('tk_vid')")
    lead = tracker.lead_of(page)
    assert (lead["email"], [event["type"] for event in lead["timeline"]]) == ("lea@example.com", ["form"])
