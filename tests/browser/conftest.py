"""Fixtures for the browser tests: Debian's headless Chromium driven by Playwright,
a live ``tracker serve --demo`` on loopback, and a fake site for beacon-only tests.

The fake site is served by Playwright's request routing: pages, ``/t.js`` (the real
minified beacon) and a scripted ``/collect`` that records what the beacon sends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, Route, sync_playwright

from tracker.web.beacon import load

from ..conftest import TLS
from ..test_serve import run_cli

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Real visitors have navigator.webdriver = false; the beacon reports it to the server.
    "--disable-blink-features=AutomationControlled",
    # Headless Chromium says "HeadlessChrome" in its user agent, which the server rightly
    # takes for a bot: these tests play people, so they use a desktop Chrome's.
    "--user-agent=Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/130.0.0.0 Safari/537.36",
]
FAKE_ORIGIN = "http://site.test"
CONSOLE_PASSWORD = "a long enough password"
# What the browser itself logs for a request that was blocked or failed: no page can
# prevent it, so it is the one console error a host page may show.
NETWORK_LOG = "Failed to load resource"
# Headless Chromium keeps every page visible; these stand in for the tab being hidden and shown again.
HIDE = """() => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
  document.dispatchEvent(new Event('visibilitychange'));
}"""
SHOW = """() => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
  document.dispatchEvent(new Event('visibilitychange'));
}"""

Event = dict[str, Any]
Decider = Callable[[list[Event]], list[dict[str, Any]]]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: end-to-end test in headless Chromium (Playwright)")


# Package scope, not session: Playwright's sync API keeps its event loop marked as
# running while it is open, which would break every pytest-asyncio test after these.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (see .ci/run)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    yield context
    context.close()


# ---- the live server ----------------------------------------------------------------


@dataclass
class Tracker:
    """A running ``tracker serve --demo`` and a sales API key for it."""

    base: str
    key: str
    data: Path  # its data dir, for the CLI (sites added there are live within RELOAD_SECONDS)

    def url(self, path: str) -> str:
        return self.base + path

    def api(self, path: str) -> Any:
        # Each call is a client of its own: on the suite's TLS context, not a new load of the CA bundle.
        headers = {"Authorization": f"Bearer {self.key}"}
        response = httpx.get(self.base + path, headers=headers, timeout=10, verify=TLS)
        response.raise_for_status()
        return response.json()

    def person_of(self, page: Page) -> int:
        """The person behind the page's visitor token (kept by the beacon in localStorage)."""
        token = page.evaluate("localStorage.getItem('tk_vid')")
        assert token, "the beacon stored no visitor token"
        return int(self.api(f"/api/visitors/{token}")["person_id"])

    def lead_of(self, page: Page) -> dict[str, Any]:
        lead: dict[str, Any] = self.api(f"/api/leads/{self.person_of(page)}")
        return lead

    def cli(self, *args: str) -> str:
        """What ``tracker ARGS --data-dir DATA`` prints, as an operator would run it next to the server.

        In this process (``run_cli``): Playwright's loop is running on this thread.
        """
        result = run_cli(*args, "--data-dir", str(self.data))
        assert result.exit_code == 0, result.output
        return result.stdout

    def user_link(self, email: str, role: str) -> str:
        """Create a console user with the CLI, as an admin would; their one-time setup link."""
        return self.cli("users", "create", email, "--role", role, "--base-url", self.base).strip().splitlines()[-1]

    def signed_in(self, context: BrowserContext, role: str, email: str | None = None) -> Page:
        """A page signed in to the console as a new user of ``role`` (in English)."""
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        page = context.new_page()
        page.goto(self.user_link(email, role))
        page.locator("#password").fill(CONSOLE_PASSWORD)
        page.locator("#confirm").fill(CONSOLE_PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_url(self.url("/admin/"))
        return page

    def wait_for_lead(self, page: Page, check: Callable[[dict[str, Any]], bool], seconds: float = 10) -> dict[str, Any]:
        """Poll until the page's lead passes ``check``: beacons sent while a page unloads arrive a bit later."""
        deadline = time.monotonic() + seconds
        while True:
            lead = self.lead_of(page)
            if check(lead) or time.monotonic() > deadline:
                return lead
            page.wait_for_timeout(100)


def screenshot(page: Page, name: str) -> None:
    """Save what the page looks like, for people to look at (not committed, not compared)."""
    folder = Path(os.environ.get("TRACKER_SCREENSHOTS", "/tmp/tracker-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="package")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracker]:
    # Without the generated history: these tests count on a demo where only they have been.
    with serving(tmp_path_factory.mktemp("tracker-data"), "--no-demo-history") as running:
        yield running


@contextlib.contextmanager
def serving(data: Path, *options: str) -> Iterator[Tracker]:
    """A live ``tracker serve --demo`` on a free port, with ``options``, and a sales key for it."""
    executable = shutil.which("tracker")
    if executable is None:
        pytest.fail("the tracker command is not installed (pip install -e .)")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = data / "server.log"
    command = [executable, "serve", "--demo", *options, "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        server = subprocess.Popen([*command, "--data-dir", str(data)], stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(base, server, log_path)
        unkeyed = Tracker(base=base, key="", data=data)
        key = unkeyed.cli("keys", "create", "--role", "sales", "--site", "demo").strip().splitlines()[-1]
        yield dataclasses.replace(unkeyed, key=key)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_healthy(base: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"tracker serve exited with {server.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(base + "/healthz", timeout=1, verify=TLS).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"tracker serve did not answer /healthz within 30 s:\n{log_path.read_text(errors='replace')}")


# ---- watching a page ----------------------------------------------------------------


def sent_events(request_body: str | None) -> list[Event]:
    """The events of one beacon request body (empty for anything else)."""
    try:
        events: list[Event] = json.loads(request_body or "")["events"]
    except (ValueError, KeyError, TypeError):
        return []
    return events


def is_collect(url: str) -> bool:
    return url.split("?")[0].endswith("/collect")


@dataclass
class Console:
    """Errors a page shows in its console, apart from the browser's own network log lines."""

    errors: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type not in ("error", "warning"):
            return
        if message.type == "error" and message.text.startswith(NETWORK_LOG):
            self.network.append(message.location.get("url", ""))
        else:
            self.errors.append(f"{message.type}: {message.text}")


# ---- the fake site --------------------------------------------------------------------


@dataclass
class FakeSite:
    """Pages on http://site.test with the real beacon and a scripted /collect.

    ``decide`` turns each request's events into the decisions of its response;
    ``requests`` keeps every request body the beacon sent, in order.
    """

    context: BrowserContext
    pages: dict[str, str] = field(default_factory=dict)
    decide: Decider = lambda events: []
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: bytes = b""

    def install(self) -> None:
        self.context.route(f"{FAKE_ORIGIN}/**", self._serve)

    def _serve(self, route: Route) -> None:
        path = route.request.url.removeprefix(FAKE_ORIGIN).split("#")[0]
        if path == "/t.js":
            route.fulfill(body=self.script, content_type="application/javascript; charset=utf-8")
        elif is_collect(path):
            body = json.loads(route.request.post_data or "{}")
            self.requests.append(body)
            answer = {"vid": f"token-{len(self.requests)}", "decisions": self.decide(body["events"]), "rejected": []}
            route.fulfill(json=answer)
        elif path.split("?")[0] in self.pages:
            route.fulfill(body=self.pages[path.split("?")[0]], content_type="text/html; charset=utf-8")
        else:
            route.fulfill(status=404, body="")

    def page(self, path: str, body: str = "", head: str = "", attrs: str = "") -> str:
        """Register an HTML page at ``path`` embedding the beacon; returns its URL."""
        self.pages[path] = (
            f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Page {path}</title>{head}'
            f'<link rel="icon" href="data:,"><script async src="/t.js" data-site="test" {attrs}></script>'
            f"</head><body>{body}</body></html>"
        )
        return FAKE_ORIGIN + path

    def events(self, kind: str | None = None) -> list[Event]:
        return [e for body in self.requests for e in body["events"] if kind is None or e["type"] == kind]

    def wait_for(self, page: Page, kind: str, count: int = 1, seconds: float = 5) -> list[Event]:
        """Wait until the beacon has sent ``count`` events of ``kind``; returns them."""
        deadline = time.monotonic() + seconds
        while len(self.events(kind)) < count and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        found = self.events(kind)
        assert len(found) >= count, f"expected {count} {kind!r} events, got {found}"
        return found


@pytest.fixture(scope="session")
def beacon_script() -> bytes:
    return load().body


@pytest.fixture
def site(context: BrowserContext, beacon_script: bytes) -> FakeSite:
    fake = FakeSite(context=context, script=beacon_script)
    fake.install()
    return fake
