"""The beacon alone, in headless Chromium, on a fake site whose /collect is scripted.

These tests pin the wire protocol the server relies on and the rendering rules
(text never HTML, keyboard access, triggers, feedback events) without a server.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tracker.web.beacon import QUEUE_STUB

from .conftest import FAKE_ORIGIN, HIDE, SHOW, Console, Event, FakeSite

pytestmark = pytest.mark.browser

# The host page stops link navigation (in its shadow roots too) so a test can click
# links and stay put; the beacon listens in the capture phase, before this handler runs.
STAY = (
    "<script>document.addEventListener('click', e => e.composedPath()[0].closest('a') && e.preventDefault())</script>"
)


def widget(page: Page, campaign: str) -> Any:
    return page.locator(f'tracker-ui[data-tracker-campaign="{campaign}"] dialog')


def answer_once(decision: dict[str, Any], on: str = "page") -> Any:
    """A decider that returns ``decision`` in the response to any request carrying an ``on`` event."""

    def decide(events: list[Event]) -> list[dict[str, Any]]:
        return [decision] if any(e["type"] == on for e in events) else []

    return decide


def popup(**content: Any) -> dict[str, Any]:
    return {"campaign": "offer", "kind": "popup", "trigger": {"on": "immediate"}, "title": "Parlons-en", **content}


@pytest.mark.parametrize(("width", "screen"), [(1280, "desktop"), (800, "tablet"), (375, "mobile")])
def test_page_view_payload(site: FakeSite, context: BrowserContext, width: int, screen: str) -> None:
    meta = """<meta name="tracker:props" content='{"line":"medical","price":12900}'>"""
    first = site.page("/produit", head=meta, body='<a id="next" href="/suite">suite</a>')
    site.page("/suite")
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(first + "?utm_source=newsletter")
    [view] = site.wait_for(page, "page")
    body = site.requests[0]
    assert body["site"] == "test"
    assert "vid" not in body
    assert isinstance(body["sent_at"], int)
    assert body["ctx"] == {"screen": screen, "webdriver": False}
    assert view["url"] == first + "?utm_source=newsletter"
    assert view["title"] == "Page /produit"
    assert view["ref"] == ""
    assert view["props"] == {"line": "medical", "price": 12900}
    assert isinstance(view["t"], int)

    page.click("#next")
    second = site.wait_for(page, "page", 2)[1]
    assert second["ref"] == first + "?utm_source=newsletter"
    assert second["props"] == {}
    # The first answer's token comes back with the next page's request, whose answer's
    # token replaces it in localStorage.  (An engaged beacon from the first page may
    # come in between: sendBeacon answers are never read.)
    index = next(i for i, body in enumerate(site.requests) if second in body["events"])
    assert site.requests[index]["vid"] == "token-1"
    page.wait_for_function("token => localStorage.getItem('tk_vid') === token", arg=f"token-{index + 1}")


def test_spa_navigation_is_one_view_per_url_change(site: FakeSite, context: BrowserContext) -> None:
    url = site.page("/app", body="<p>app</p>")
    page = context.new_page()
    page.goto(url)
    site.wait_for(page, "page")
    # Like a router: change the URL, then the title.
    page.evaluate("history.pushState({}, '', '/app/factures'); document.title = 'Factures'")
    site.wait_for(page, "page", 2)
    page.evaluate("history.replaceState({x: 1}, '', location.href)")
    page.evaluate("location.hash = 'ligne-3'")
    page.go_back()  # back to /app/factures (same page view: only the hash differed)
    page.go_back()  # back to /app
    views = site.wait_for(page, "page", 3)
    page.wait_for_timeout(300)
    assert [(v["url"], v["title"]) for v in site.events("page")] == [
        (url, "Page /app"),
        (FAKE_ORIGIN + "/app/factures", "Factures"),
        (url, "Factures"),
    ]
    assert views[1]["ref"] == url


def test_downloads_outbound_links_and_tagged_clicks(site: FakeSite, context: BrowserContext) -> None:
    context.route("https://elsewhere.test/**", lambda route: route.fulfill(body=""))
    url = site.page(
        "/ressources",
        head=STAY,
        body="""<a id="pdf" href="/files/guide.PDF?v=2">guide</a>
        <a id="attr" href="/export" download>export</a>
        <a id="out" href="https://elsewhere.test/salon">salon</a>
        <a id="inside" href="/contact">contact</a>
        <button id="tagged" data-tracker-event="pricing-cta" data-tracker-props='{"plan": "pro"}'>voir</button>
        <span data-tracker-event="bare"><b id="nested">nested</b></span>""",
    )
    page = context.new_page()
    page.goto(url)
    site.wait_for(page, "page")
    for selector in ("#pdf", "#attr", "#inside", "#tagged", "#nested"):
        page.click(selector)
    page.click("#out", button="middle")
    site.wait_for(page, "outbound")
    downloads = site.wait_for(page, "download", 2)
    assert [(e["url"], e["props"]) for e in downloads] == [
        (FAKE_ORIGIN + "/files/guide.PDF?v=2", {"page": url}),
        (FAKE_ORIGIN + "/export", {"page": url}),
    ]
    assert [(e["url"], e["props"]) for e in site.events("outbound")] == [
        ("https://elsewhere.test/salon", {"page": url})
    ]
    clicks = site.wait_for(page, "click", 2)
    assert [(e["name"], e["props"], e["url"]) for e in clicks] == [
        ("pricing-cta", {"plan": "pro"}, url),
        ("bare", {}, url),
    ]


def test_configured_download_extensions(site: FakeSite, context: BrowserContext) -> None:
    url = site.page(
        "/modeles",
        head=STAY,
        attrs='data-downloads="stl|step"',
        body='<a id="stl" href="/m/piece.stl">stl</a><a id="pdf" href="/m/notice.pdf">pdf</a>',
    )
    page = context.new_page()
    page.goto(url)
    page.click("#pdf")
    page.click("#stl")
    [download] = site.wait_for(page, "download")
    page.wait_for_timeout(200)
    assert download["url"] == FAKE_ORIGIN + "/m/piece.stl"
    assert len(site.events("download")) == 1


SIGNUP_FORM = """<form id="signup-form" data-tracker-form="signup" onsubmit="return false">
  <input name="email" value="jeanne@example.test">
  <input name="first_name" value="Jeanne">
  <input type="password" name="secret" value="hunter2">
  <input type="hidden" name="csrf_token" value="c1">
  <input type="hidden" name="_token" value="c2">
  <input type="hidden" name="plan" value="pro">
  <input name="card_number" value="4111111111111111">
  <input name="payment" autocomplete="cc-number" value="4111111111111111">
  <input name="cvc" value="123">
  <input type="checkbox" name="news" value="oui">
  <input type="checkbox" name="terms" value="ok" checked>
  <input type="file" name="cv">
  <button name="go" value="1">Envoyer</button>
</form>"""


def test_form_fields_leave_secrets_behind(site: FakeSite, context: BrowserContext) -> None:
    url = site.page("/inscription", body=SIGNUP_FORM)
    page = context.new_page()
    page.goto(url)
    page.click("button")
    [form] = site.wait_for(page, "form")
    assert form["name"] == "signup"
    assert form["url"] == url
    assert form["props"] == {"email": "jeanne@example.test", "first_name": "Jeanne", "plan": "pro", "terms": "ok"}
    assert "hunter2" not in json.dumps(site.requests)


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [("", ["newsletter", "form", "demo"]), ('data-forms="marked"', ["demo"])],
)
def test_which_forms_are_tracked(site: FakeSite, context: BrowserContext, attrs: str, expected: list[str]) -> None:
    forms = "".join(
        f'<form {extra} onsubmit="return false"><input name="q" value="1"><button id="{button}">go</button></form>'
        for extra, button in (('id="newsletter"', "a"), ("", "b"), ('data-tracker-form="demo"', "c"))
    )
    url = site.page("/formulaires", body=forms, attrs=attrs)
    page = context.new_page()
    page.goto(url)
    for button in ("#a", "#b", "#c"):
        page.click(button)
    site.wait_for(page, "form", len(expected))
    page.wait_for_timeout(200)
    assert [e["name"] for e in site.events("form")] == expected


def test_engaged_time_and_scroll_depth_are_sent_when_hidden(site: FakeSite, context: BrowserContext) -> None:
    url = site.page("/article", body='<div style="height: 4000px">long</div>')
    page = context.new_page()
    # The page's clock is Playwright's: the seconds the beacon counts pass at once (run_for
    # fires every timer due on the way), while time still flows for everything else.
    page.clock.install()
    page.goto(url)
    site.wait_for(page, "page")
    page.clock.run_for(2200)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight / 2 - innerHeight)")
    page.wait_for_timeout(100)
    page.evaluate(HIDE)
    [engaged] = site.wait_for(page, "engaged")
    assert engaged["url"] == url
    assert engaged["props"]["seconds"] >= 2
    assert 45 <= engaged["props"]["scroll"] <= 55
    # Hidden time does not count, and the counter restarted at the last report.
    page.clock.run_for(1500)
    page.evaluate(SHOW)
    page.clock.run_for(1500)
    page.evaluate(HIDE)
    later = site.wait_for(page, "engaged", 2)[1]
    assert 1 <= later["props"]["seconds"] <= 2


def test_api_calls_made_before_load_are_replayed(site: FakeSite, context: BrowserContext) -> None:
    early = QUEUE_STUB + (
        "<script>tracker.track('signup', {plan: 'pro'}); tracker.identify({name: 'sans e-mail'});"
        "tracker.identify({email: 'lea@example.test', company: 'Atelier'})</script>"
    )
    url = site.page("/api", head=early)
    page = context.new_page()
    page.goto(url)
    site.wait_for(page, "identify")
    page.evaluate("tracker.track('later')")
    site.wait_for(page, "custom", 2)
    assert [(e["name"], e["props"]) for e in site.events("custom")] == [("signup", {"plan": "pro"}), ("later", {})]
    assert [e["props"] for e in site.events("identify")] == [{"email": "lea@example.test", "company": "Atelier"}]
    assert [e["type"] for e in site.events()][:1] == ["page"]


def test_consent_required_holds_events_until_given(site: FakeSite, context: BrowserContext) -> None:
    url = site.page("/rgpd", attrs='data-consent="required"')
    page = context.new_page()
    page.goto(url)
    page.wait_for_timeout(400)
    assert site.requests == []
    page.evaluate("tracker.consent(true)")
    site.wait_for(page, "page")
    page.reload()
    site.wait_for(page, "page", 2)
    page.evaluate("tracker.consent(false); tracker.track('after-refusal')")
    page.wait_for_timeout(300)
    assert site.events("custom") == []
    assert page.evaluate("localStorage.getItem('tk_vid')") is None


def test_campaign_text_is_never_markup(site: FakeSite, context: BrowserContext) -> None:
    hostile = '<img src=x onerror="window.__xss=1">'
    decisions = [
        popup(
            title=hostile,
            text="<script>window.__xss=2</script>",
            cta={"label": "<b>go</b>", "url": "javascript:window.__xss=3"},
        ),
        {"campaign": "slot", "kind": "content", "slot": "hero", "trigger": {"on": "immediate"}, "text": hostile},
    ]
    site.decide = lambda events: decisions if any(e["type"] == "page" for e in events) else []
    url = site.page("/xss", body='<div data-tracker-slot="hero">défaut</div>')
    page = context.new_page()
    page.goto(url)
    dialog = widget(page, "offer")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text(hostile)
    expect(page.locator("[data-tracker-slot=hero] p")).to_have_text(hostile)
    assert dialog.locator("img, script, b").count() == 0
    assert page.locator("[data-tracker-slot=hero] img").count() == 0
    assert dialog.locator("a").count() == 0  # a javascript: call to action is dropped
    page.wait_for_timeout(200)
    assert page.evaluate("window.__xss") is None


def test_popup_keeps_keyboard_focus_and_closes_on_escape(site: FakeSite, context: BrowserContext) -> None:
    site.decide = answer_once(popup(text="Un expert vous rappelle.", form={"name": "popup-demo", "fields": ["email"]}))
    url = site.page("/clavier", body='<input id="search"><a href="#top">haut</a>')
    page = context.new_page()
    page.goto(url)
    dialog = widget(page, "offer")
    expect(dialog).to_be_visible()
    expect(dialog.locator("input[name=email]")).to_be_focused()
    for _ in range(8):
        page.keyboard.press("Tab")
        # The modal makes the page inert: focus never reaches the host page's own controls.
        assert page.evaluate("document.activeElement.id") not in ("search",)
        assert page.evaluate("document.activeElement.tagName") in ("TRACKER-UI", "BODY")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    [closed] = site.wait_for(page, "close")
    assert closed["props"] == {"campaign": "offer"}
    assert [e["props"] for e in site.events("impression")] == [{"campaign": "offer"}]
    # The same campaign in a later answer of the same page view stays closed.
    site.decide = lambda events: [popup()]
    page.evaluate("tracker.track('again')")
    site.wait_for(page, "custom")
    page.wait_for_timeout(300)
    expect(dialog).to_have_count(0)
    assert site.events("conversion") == []


def test_popup_form_identifies_and_converts(site: FakeSite, context: BrowserContext) -> None:
    form = {
        "name": "popup-demo",
        "submit": "Être rappelé",
        "fields": ["email", {"name": "job_title", "label": "Fonction"}],
    }
    site.decide = answer_once(popup(form=form, cta={"label": "ignored", "url": "/contact"}))
    url = site.page("/formulaire-popup")
    page = context.new_page()
    page.goto(url)
    dialog = widget(page, "offer")
    expect(dialog.get_by_label("Fonction")).to_be_visible()
    dialog.locator("input[name=email]").fill("marc@example.test")
    dialog.get_by_label("Fonction").fill("Responsable achats")
    dialog.get_by_role("button", name="Être rappelé").click()
    expect(dialog).to_have_count(0)
    [sent] = site.wait_for(page, "form")
    assert sent["name"] == "popup-demo"
    assert sent["props"] == {"email": "marc@example.test", "job_title": "Responsable achats"}
    assert [e["props"] for e in site.wait_for(page, "conversion")] == [{"campaign": "offer"}]
    page.wait_for_timeout(200)
    assert site.events("close") == []


def test_popup_call_to_action_converts(site: FakeSite, context: BrowserContext) -> None:
    site.decide = answer_once(
        popup(text="Un expert vous rappelle.", cta={"label": "Prendre rendez-vous", "url": "/rdv"})
    )
    url = site.page("/cta", head=STAY)
    page = context.new_page()
    page.goto(url)
    link = widget(page, "offer").get_by_role("link", name="Prendre rendez-vous")
    expect(link).to_have_attribute("href", "/rdv")
    link.click()
    assert [e["props"] for e in site.wait_for(page, "conversion")] == [{"campaign": "offer"}]
    expect(widget(page, "offer")).to_have_count(0)
    page.wait_for_timeout(200)
    assert site.events("close") == []


def test_content_chat_and_banner(site: FakeSite, context: BrowserContext) -> None:
    decisions = [
        {"campaign": "undecided", "kind": "content", "slot": "offer", "trigger": {"on": "immediate"},
         "title": "Gamme générale ou médicale ?", "text": "Deux livres blancs.",
         "cta": {"label": "Livre blanc A", "url": "/files/livre-blanc-a.pdf"}},
        {"campaign": "missing-slot", "kind": "content", "slot": "nowhere", "trigger": {"on": "immediate"}, "text": "x"},
        {"campaign": "medical-chat", "kind": "chat", "trigger": {"on": "immediate"}, "title": "Conseiller",
         "opener": "Bonjour ! Une question ?"},
        {"campaign": "newsletter", "kind": "banner", "trigger": {"on": "immediate"}, "text": "Notre lettre mensuelle."},
    ]  # fmt: skip
    site.decide = lambda events: decisions if any(e["type"] == "page" for e in events) else []
    url = site.page(
        "/accueil", head=STAY, body='<input id="search" autofocus><div data-tracker-slot="offer">défaut</div>'
    )
    page = context.new_page()
    page.goto(url)
    slot = page.locator("[data-tracker-slot=offer]")
    expect(slot.locator("h2")).to_have_text("Gamme générale ou médicale ?")
    expect(slot).not_to_contain_text("défaut")
    chat, banner = widget(page, "medical-chat"), widget(page, "newsletter")
    expect(chat).to_contain_text("Bonjour ! Une question ?")
    expect(banner).to_contain_text("Notre lettre mensuelle.")
    # Non-modal widgets leave the visitor's focus where it was.
    expect(page.locator("#search")).to_be_focused()
    impressions = site.wait_for(page, "impression", 3)
    assert sorted(e["props"]["campaign"] for e in impressions) == ["medical-chat", "newsletter", "undecided"]

    chat.locator("input[name=message]").fill("Quel délai pour une Medica Lab ?")
    chat.locator("input[name=message]").press("Enter")
    [reply] = site.wait_for(page, "chat")
    assert reply["props"] == {"campaign": "medical-chat", "message": "Quel délai pour une Medica Lab ?"}
    expect(chat).to_contain_text("Quel délai pour une Medica Lab ?")

    banner.get_by_role("button", name="Fermer").click()
    expect(banner).to_have_count(0)
    assert [e["props"] for e in site.wait_for(page, "close")] == [{"campaign": "newsletter"}]
    slot.get_by_role("link", name="Livre blanc A").click()
    assert [e["props"] for e in site.wait_for(page, "conversion")] == [{"campaign": "undecided"}]


def test_display_triggers(site: FakeSite, context: BrowserContext) -> None:
    triggers = {
        "later": {"on": "delay", "seconds": 1},
        "deep": {"on": "scroll", "percent": 50},
        "leaving": {"on": "exit"},
    }
    decisions = [popup(campaign=name, trigger=trigger) for name, trigger in triggers.items()]
    decisions = [{**d, "kind": "banner"} for d in decisions]  # non-modal, so they can pile up
    site.decide = lambda events: decisions if any(e["type"] == "page" for e in events) else []
    url = site.page("/declencheurs", body='<div style="height: 4000px">long</div>')
    page = context.new_page()
    page.goto(url)
    site.wait_for(page, "page")
    page.wait_for_timeout(300)
    assert page.locator("tracker-ui").count() == 0
    expect(widget(page, "later")).to_be_visible(timeout=3000)
    assert page.locator("tracker-ui").count() == 1
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight * 0.6)")
    expect(widget(page, "deep")).to_be_visible()
    page.mouse.move(300, 200)
    page.mouse.move(300, -10)
    expect(widget(page, "leaving")).to_be_visible()


def test_server_errors_are_swallowed(site: FakeSite, context: BrowserContext) -> None:
    console = Console()
    url = site.page("/panne", head=STAY, body='<a id="pdf" href="/f.pdf">pdf</a>')
    page = context.new_page()
    console.watch(page)
    context.route(f"{FAKE_ORIGIN}/collect", lambda route: route.fulfill(status=500, body="<h1>oops</h1>"))
    page.goto(url)
    page.click("#pdf")
    page.wait_for_timeout(300)
    context.unroute(f"{FAKE_ORIGIN}/collect")
    context.route(f"{FAKE_ORIGIN}/collect", lambda route: route.fulfill(status=200, body="not json"))
    page.evaluate("tracker.track('x')")
    page.wait_for_timeout(300)
    assert console.errors == []
