"""First run in Chromium: a fresh ``tracker serve`` prints a one-time link that creates the first
administrator (no default password ships); the link works once."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import BrowserContext, expect

from .conftest import CONSOLE_PASSWORD, screenshot, serving

pytestmark = pytest.mark.browser


def test_the_printed_link_creates_the_first_admin_once(
    context: BrowserContext, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = tmp_path_factory.mktemp("first-run")
    with serving(data, "--no-demo-history") as running:
        log = data / "server.log"
        deadline = time.monotonic() + 10
        while not (found := re.search(r"create the first admin within the hour at (\S+)", log.read_text())):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        link = found.group(1)
        assert link.startswith(running.url("/admin/setup?t="))

        page = context.new_page()
        page.goto(running.url("/"))
        expect(page).to_have_url(re.compile(r"/admin/login"))  # nobody to sign in as yet
        page.goto(link)
        expect(page.get_by_role("heading", name="Create the first administrator")).to_be_visible()
        page.get_by_label("E-mail").fill("founder@example.com")
        page.get_by_label("Password (at least 10 characters)").fill(CONSOLE_PASSWORD)
        page.get_by_label("Password again").fill(CONSOLE_PASSWORD)
        page.get_by_role("button", name="Create and sign in").click()
        expect(page).to_have_url(running.url("/admin/"))
        expect(page.get_by_role("link", name="founder@example.com")).to_be_visible()
        expect(page.get_by_role("navigation", name="Console").get_by_role("link", name="Users")).to_be_visible()
        screenshot(page, "first-run-dashboard")

        again = context.new_page()
        again.goto(link)
        expect(again.get_by_role("heading", name="This link cannot be used")).to_be_visible()
