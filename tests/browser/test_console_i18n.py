"""The console in French and in English, in Chromium: the browser's language picks the pages'
language until the user chooses one in their settings, and dates follow their time zone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from .conftest import CONSOLE_PASSWORD, Tracker, screenshot

pytestmark = pytest.mark.browser


def test_a_french_browser_gets_french_pages_until_the_user_picks_english(browser: Browser, tracker: Tracker) -> None:
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto(tracker.user_link("francoise@example.com", "marketing"))
        expect(page.get_by_role("heading", name="Choisissez votre mot de passe")).to_be_visible()
        page.get_by_label("Mot de passe (au moins 10 caractères)").fill(CONSOLE_PASSWORD)
        page.get_by_label("Mot de passe, à nouveau").fill(CONSOLE_PASSWORD)
        page.get_by_role("button", name="Enregistrer le mot de passe et se connecter").click()
        expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        screenshot(page, "console-fr")

        page.get_by_role("link", name="francoise@example.com").click()
        page.get_by_label("Langue").select_option("en")
        page.get_by_label("Fuseau horaire").select_option("Europe/Paris")
        page.get_by_role("button", name="Enregistrer").click()
        expect(page.get_by_text("Saved.")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_label("Time zone")).to_have_value("Europe/Paris")
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        screenshot(page, "console-settings-en")
    finally:
        context.close()
