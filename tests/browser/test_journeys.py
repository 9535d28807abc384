"""End to end: real headless Chromium on the demo site of a live ``tracker serve --demo``.

Each test uses its own browser context (a fresh device) and its own e-mail
addresses, so the tests share one server without seeing each other's visitors.
"""

from __future__ import annotations

import math
import time
import weakref
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect

from tracker.services.abuse import MIN_PAGE_GAP
from tracker.web.demo import POSTS

from .conftest import HIDE, Console, Tracker, is_collect, sent_events

# A person reads a page before opening the next. A fast machine loads the demo's pages in under
# ``MIN_PAGE_GAP`` (50 ms), and two page views closer than that are rightly a bot's (``abuse``): the
# device is quarantined and its scores taken back, which failed a journey now and then.
READING = 2 * MIN_PAGE_GAP
# When each browser (context: one device, one visitor token) last viewed a page through ``visit``.
_last_view: weakref.WeakKeyDictionary[BrowserContext, float] = weakref.WeakKeyDictionary()

pytestmark = pytest.mark.browser

QUALITY_POSTS = [post.url for post in POSTS if post.quality]


def carries(response: Response, kind: str, **fields: Any) -> bool:
    """Whether a beacon request carried an event of ``kind`` whose fields contain ``fields``."""
    if not is_collect(response.url):
        return False
    return any(
        event["type"] == kind and all(event.get(k) == v for k, v in fields.items())
        for event in sent_events(response.request.post_data)
    )


def campaigns(response: Response) -> list[str]:
    return [decision["campaign"] for decision in response.json()["decisions"]]


def visit(page: Page, url: str) -> list[str]:
    """Open ``url`` as a person would, not sooner than ``READING`` after the browser's last page view;
    returns the campaigns the server answered its page view with."""
    pause = READING - (time.monotonic() - _last_view.get(page.context, -math.inf))
    if pause > 0:
        page.wait_for_timeout(pause * 1000)
    with page.expect_response(lambda r: carries(r, "page", url=url)) as answer:
        page.goto(url)
    _last_view[page.context] = time.monotonic()
    return campaigns(answer.value)


def download(page: Page, tracker: Tracker, paper: str) -> None:
    url = tracker.url(f"/demo/files/{paper}.pdf")
    with page.expect_download(), page.expect_response(lambda r: carries(r, "download", url=url)):
        page.locator(f'a[href="/demo/files/{paper}.pdf"]').first.click()


def sales_popup(page: Page) -> Any:
    return page.locator('tracker-ui[data-tracker-campaign="sales-popup"] dialog')


def reach_the_sales_threshold(page: Page, tracker: Tracker) -> None:
    """Marc's path (seed 000): A (2) + B (5) + three quality posts (3 × 2) = 13 ≥ 12."""
    assert visit(page, tracker.url("/demo/")) == []
    download(page, tracker, "livre-blanc-a")
    download(page, tracker, "livre-blanc-b")
    for post in QUALITY_POSTS[:2]:
        assert "sales-popup" not in visit(page, tracker.url(post))
        expect(sales_popup(page)).to_have_count(0)
    assert "sales-popup" in visit(page, tracker.url(QUALITY_POSTS[2]))
    expect(sales_popup(page)).to_be_visible()


def submit_contact_form(page: Page, tracker: Tracker, email: str, job_title: str = "Responsable achats") -> None:
    visit(page, tracker.url("/demo/contact"))
    page.get_by_label("E-mail professionnel").fill(email)
    page.get_by_label("Entreprise").fill("Atelier Dupont")
    page.get_by_label("Fonction").fill(job_title)
    with page.expect_navigation():
        page.get_by_role("button", name="Envoyer").click()
    expect(page.locator("h1")).to_have_text("Merci !")


def test_marc_reaches_sql_and_the_sales_popup_on_the_crossing_event(context: BrowserContext, tracker: Tracker) -> None:
    page = context.new_page()
    reach_the_sales_threshold(page, tracker)
    anonymous = tracker.lead_of(page)
    assert anonymous["scores"]["engagement"] == 13
    assert anonymous["stage"] == "anonymous"

    popup = sales_popup(page)
    popup.locator("input[name=email]").fill("marc.durand@example.test")
    popup.locator("input[name=company]").fill("Durand Prototypes")
    popup.locator("input[name=job_title]").fill("Responsable bureau d'études")
    with page.expect_response(lambda r: carries(r, "form", name="popup-demo")):
        popup.get_by_role("button", name="Être rappelé").click()
    expect(popup).to_have_count(0)

    lead = tracker.wait_for_lead(page, lambda lead: lead["stage"] == "sql")
    assert lead["email"] == "marc.durand@example.test"
    assert lead["stage"] == "sql"
    assert lead["scores"]["engagement"] == 13
    assert lead["id"] in [row["id"] for row in tracker.api("/api/leads?stage=sql")["leads"]]
    full = tracker.api(f"/api/leads/{lead['id']}")
    engagement = [row for row in full["ledger"] if row["score"] == "engagement"]
    assert sorted(row["rule_id"] for row in engagement) == ["quality-blog"] * 3 + ["wp-a", "wp-b"]
    # The pop-up was served in answer to the very event that took the score past 12.
    [crossing] = [row for row in engagement if row["before"] < 12 <= row["after"]]
    served = [row for row in full["decisions"] if row["campaign"] == "sales-popup" and row["action"] == "served"]
    assert [row["event_id"] for row in served] == [crossing["event_id"]]


def test_spa_navigation_is_counted_once(context: BrowserContext, tracker: Tracker) -> None:
    page = context.new_page()
    sent: list[dict[str, Any]] = []
    page.on("request", lambda r: sent.extend(e for e in sent_events(r.post_data) if is_collect(r.url)))
    visit(page, tracker.url("/demo/app"))
    # A person spends more than 50 ms on a view: faster than that, the abuse guard rightly sees a bot.
    page.wait_for_timeout(200)
    with page.expect_response(lambda r: carries(r, "page", url=tracker.url("/demo/app/factures"))):
        page.get_by_role("link", name="Mes factures").click()
    page.evaluate("history.replaceState(history.state, '', location.href)")
    page.wait_for_timeout(200)
    with page.expect_response(lambda r: carries(r, "page", url=tracker.url("/demo/app"))):
        page.go_back()
    page.wait_for_timeout(500)

    views = [(e["url"], e["title"]) for e in sent if e["type"] == "page"]
    assert views == [
        (tracker.url("/demo/app"), "Mes commandes — Prisme 3D"),
        (tracker.url("/demo/app/factures"), "Mes factures — Prisme 3D"),
        (tracker.url("/demo/app"), "Mes commandes — Prisme 3D"),
    ]
    timeline = tracker.api(f"/api/leads/{tracker.person_of(page)}")["timeline"]
    assert [e["url"] for e in timeline if e["type"] == "page"].count(tracker.url("/demo/app/factures")) == 1


def test_form_submit_identifies_and_keeps_the_anonymous_history(context: BrowserContext, tracker: Tracker) -> None:
    page = context.new_page()
    sent: list[dict[str, Any]] = []
    page.on("request", lambda r: sent.extend(e for e in sent_events(r.post_data) if is_collect(r.url)))
    visit(page, tracker.url("/demo/"))
    visit(page, tracker.url("/demo/produits/medical/medica-lab"))
    before = tracker.lead_of(page)
    assert before["email"] is None

    submit_contact_form(page, tracker, "elodie.martin@example.test")
    lead = tracker.wait_for_lead(page, lambda lead: lead["email"] is not None)
    assert lead["email"] == "elodie.martin@example.test"
    assert lead["id"] == before["id"]
    assert lead["profile"]["company"] == "Atelier Dupont"
    timeline = tracker.api(f"/api/leads/{lead['id']}")["timeline"]
    pages = {e["url"] for e in timeline if e["type"] == "page"}
    assert {tracker.url("/demo/"), tracker.url("/demo/produits/medical/medica-lab")} <= pages
    [form] = [e for e in timeline if e["type"] == "form"]
    assert form["name"] == "demo"
    assert "csrf_token" not in form["props"]
    assert next(e for e in sent if e["type"] == "form")["props"].keys() == {
        "email", "first_name", "company", "job_title", "phone", "subject",
    }  # fmt: skip


def test_a_second_device_merges_into_the_same_person(browser: Browser, tracker: Tracker) -> None:
    email = "capucine.leroy@example.test"
    office = browser.new_context()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        desk = office.new_page()
        visit(desk, tracker.url("/demo/produits/general/prisme-pro"))
        submit_contact_form(desk, tracker, email)
        person = tracker.wait_for_lead(desk, lambda lead: lead["email"] == email)["id"]

        mobile = phone.new_page()
        visit(mobile, tracker.url("/demo/tarifs"))
        assert tracker.person_of(mobile) != person
        submit_contact_form(mobile, tracker, email)
        merged = tracker.wait_for_lead(mobile, lambda lead: lead["id"] == person)
        assert merged["id"] == person
        full = tracker.api(f"/api/leads/{person}")
        pages = {e["url"] for e in full["timeline"] if e["type"] == "page"}
        assert {tracker.url("/demo/produits/general/prisme-pro"), tracker.url("/demo/tarifs")} <= pages
        assert len({e["device"] for e in full["timeline"]}) == 2
    finally:
        office.close()
        phone.close()


def test_engaged_time_arrives_after_the_tab_is_hidden(context: BrowserContext, tracker: Tracker) -> None:
    page = context.new_page()
    page.clock.install()  # the seconds counted pass at once (test_beacon_page's engaged time test)
    url = tracker.url("/demo/blog/tendances-impression-3d")
    visit(page, url)
    page.clock.run_for(2200)
    with page.expect_request(
        lambda r: is_collect(r.url) and any(e["type"] == "engaged" for e in sent_events(r.post_data))
    ):
        page.evaluate(HIDE)
    lead = tracker.wait_for_lead(
        page, lambda lead: any(e["type"] == "engaged" for e in tracker.api(f"/api/leads/{lead['id']}")["timeline"])
    )
    [engaged] = [e for e in tracker.api(f"/api/leads/{lead['id']}")["timeline"] if e["type"] == "engaged"]
    assert engaged["url"] == url
    assert engaged["props"]["seconds"] >= 2
    assert 0 < engaged["props"]["scroll"] <= 100


def test_a_closed_popup_stays_closed_on_the_next_pages(context: BrowserContext, tracker: Tracker) -> None:
    page = context.new_page()
    reach_the_sales_threshold(page, tracker)
    with page.expect_response(lambda r: carries(r, "close", props={"campaign": "sales-popup"})):
        page.keyboard.press("Escape")
    expect(sales_popup(page)).to_have_count(0)
    for path in ("/demo/", QUALITY_POSTS[0]):
        assert "sales-popup" not in visit(page, tracker.url(path))
        page.wait_for_timeout(300)
        expect(sales_popup(page)).to_have_count(0)
    assert tracker.lead_of(page)["scores"]["engagement"] >= 12


@pytest.mark.parametrize("blocked", ["/t.js", "/collect"])
def test_a_blocked_beacon_or_a_down_server_shows_no_error(
    context: BrowserContext, tracker: Tracker, blocked: str
) -> None:
    context.route(f"**{blocked}", lambda route: route.abort("blockedbyclient"))
    page = context.new_page()
    console = Console()
    console.watch(page)
    page.goto(tracker.url("/demo/"))
    page.wait_for_load_state("networkidle")
    # The host page's own calls go through the stub (beacon blocked) or the beacon (server down).
    page.evaluate("tracker.track('newsletter-signup', {source: 'footer'}); tracker.identify({email: 'x@example.test'})")
    with page.expect_download():
        page.locator('a[href="/demo/files/livre-blanc-a.pdf"]').click()
    page.goto(tracker.url("/demo/app"))
    page.get_by_role("link", name="Mes factures").click()
    page.evaluate(HIDE)
    page.wait_for_timeout(500)
    assert console.errors == []
    # Only the browser's own line about the blocked request itself, nothing from the page.
    assert console.network and all(url.endswith(blocked) for url in console.network)
