"""The campaign editor in Chromium: its preview is the live beacon's own rendering, and the demo's
pop-up speaks French."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from .conftest import Tracker, is_collect, screenshot
from .test_journeys import reach_the_sales_threshold, sales_popup

pytestmark = pytest.mark.browser

FRENCH_LABELS = ["E-mail professionnel", "Entreprise", "Fonction"]


def widget(root: Page | Locator, campaign: str) -> str:
    """What the beacon rendered for ``campaign``: its shadow root, style and dialog included."""
    host = root.locator(f'tracker-ui[data-tracker-campaign="{campaign}"]')
    html: str = host.evaluate("host => host.shadowRoot.innerHTML")
    return html


def test_the_preview_renders_the_same_dom_as_the_live_beacon(
    context: BrowserContext, browser: Browser, tracker: Tracker
) -> None:
    visitor = context.new_page()
    reach_the_sales_threshold(visitor, tracker)
    popup = sales_popup(visitor)
    live = widget(visitor, "sales-popup")
    # The demo site is French: the form's labels are the programme's, not the field names.
    expect(popup.locator("label")).to_have_text(FRENCH_LABELS)
    for label in FRENCH_LABELS:
        expect(popup.get_by_label(label)).to_be_visible()
    screenshot(visitor, "campaigns-demo-popup-fr")

    console = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        marketer = tracker.signed_in(console, "marketing")
        sent: list[str] = []
        marketer.on("request", lambda request: sent.append(request.url) if is_collect(request.url) else None)
        marketer.goto(tracker.url("/admin/campaigns/sales-popup"))
        frame = marketer.frame_locator("#campaign-preview")
        expect(frame.locator('tracker-ui[data-tracker-campaign="sales-popup"]')).to_have_count(1)
        # The console is in English, the demo page in French: preview the page's language.
        marketer.get_by_label("Language of the page").select_option("fr")
        expect(marketer.locator("#campaign-preview")).to_have_attribute("src", re.compile(r"[?&]lang=fr(&|$)"))
        expect(frame.locator("tracker-ui dialog").get_by_role("button", name="Fermer")).to_have_count(1)
        assert widget(frame.locator("body"), "sales-popup") == live
        expect(frame.locator("tracker-ui dialog label")).to_have_text(FRENCH_LABELS)
        expect(frame.locator("tracker-ui dialog")).to_have_attribute("open", "")
        screenshot(marketer, "campaigns-editor-preview")

        # Typing updates the preview; nothing is saved, and the preview frame sends nothing.
        marketer.get_by_label("Label of field 2").fill("Société")
        expect(frame.locator("tracker-ui dialog label").nth(1)).to_have_text("Société")
        assert sent == []
        assert marketer.locator("#campaign-preview").get_attribute("sandbox") == "allow-scripts"

        # Who would see it follows the targeting as it is typed (htmx).
        marketer.get_by_label("Score engagement").fill(">= 1000")
        expect(marketer.locator("#audience-people")).to_have_text("0")
        expect(marketer.locator("#audience-anonymous")).to_have_text("0")
    finally:
        console.close()


def test_the_editor_saves_and_the_next_visitor_gets_the_new_copy(
    context: BrowserContext, browser: Browser, tracker: Tracker
) -> None:
    console = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        marketer = tracker.signed_in(console, "marketing")
        marketer.goto(tracker.url("/admin/campaigns"))
        screenshot(marketer, "campaigns-list")
        marketer.get_by_role("link", name="newsletter-banner").click()
        marketer.get_by_label("Button label").fill("Recevoir la lettre <b>mensuelle</b>")
        marketer.get_by_label("Link").fill("javascript:alert(1)")
        marketer.get_by_role("button", name="Save and publish").click()
        expect(marketer.locator("#e-cta_url")).to_contain_text("http(s) URL")
        expect(marketer.get_by_label("Link")).to_have_attribute("aria-invalid", "true")
        expect(marketer.get_by_label("Button label")).to_have_value("Recevoir la lettre <b>mensuelle</b>")
        screenshot(marketer, "campaigns-editor-error")
        marketer.get_by_label("Link").fill("/demo/contact?sujet=newsletter")
        marketer.get_by_role("button", name="Save and publish").click()
        expect(marketer.get_by_role("status")).to_have_text("Saved and published.")
        expect(marketer.locator("#campaign-preview")).to_be_visible()
        expect(marketer.frame_locator("#campaign-preview").locator("tracker-ui .b")).to_have_text(
            "Recevoir la lettre <b>mensuelle</b>"
        )
    finally:
        console.close()


def test_the_editor_speaks_french_and_previews_in_french(browser: Browser, tracker: Tracker) -> None:
    console = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    try:
        marketer = tracker.signed_in(console, "marketing")
        marketer.goto(tracker.url("/admin/campaigns/medical-chat"))
        expect(marketer.get_by_role("heading", name="Qui la verrait maintenant")).to_be_visible()
        expect(marketer.get_by_label("Message d’accueil du chat")).to_have_value(re.compile("^Bonjour !"))
        chat = marketer.frame_locator("#campaign-preview").locator('tracker-ui[data-tracker-campaign="medical-chat"]')
        expect(chat.locator("dialog.chat")).to_have_attribute("open", "")
        expect(chat.get_by_role("button", name="Envoyer")).to_be_visible()
        screenshot(marketer, "campaigns-editor-fr")
    finally:
        console.close()
