"""Bot verdicts on real user agents, both ways, and what a person's device is."""

from __future__ import annotations

import pytest

from tracker.domain.devices import MAX_LENGTH, Device, device_of

from .conftest import CHROME

# HTTP libraries and scrapers that user-agents alone takes for browsers, then classic crawlers.
BOTS = {
    "curl": "curl/8.5.0",
    "python-requests": "python-requests/2.32.3",
    "Go-http-client": "Go-http-client/1.1",
    "axios": "axios/1.7.7",
    "Wget": "Wget/1.21.4",
    "node-fetch": "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "okhttp": "okhttp/4.12.0",
    "Apache-HttpClient": "Apache-HttpClient/4.5.14 (Java/17.0.9)",
    "Bytespider": (
        "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36"
        " (compatible; Bytespider; spider-feedback@bytedance.com)"
    ),
    "Googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Googlebot smartphone": (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/131.0.6778.139 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    ),
    "bingbot": (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
        " Chrome/131.0.0.0 Safari/537.36"
    ),
    "AhrefsBot": "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "GPTBot": (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)"
    ),
    "SemrushBot": "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "HeadlessChrome": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"
    ),
}
# Current browsers, and the device each is.
PEOPLE = {
    "Chrome, Windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0"
        " Safari/537.36",
        "desktop",
    ),
    "Chrome, macOS": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0"
        " Safari/537.36",
        "desktop",
    ),
    "Firefox, Windows": ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "desktop"),
    "Firefox, Linux": ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "desktop"),
    "Safari, macOS": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1"
        " Safari/605.1.15",
        "desktop",
    ),
    "Edge, Windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0"
        " Safari/537.36 Edg/131.0.0.0",
        "desktop",
    ),
    "Chrome, Android": (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile"
        " Safari/537.36",
        "mobile",
    ),
    "Safari, iPhone": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
        " Version/18.1 Mobile/15E148 Safari/604.1",
        "mobile",
    ),
    "Samsung Internet": (
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko)"
        " SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36",
        "mobile",
    ),
    "Chrome, iPhone": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
        " CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
        "mobile",
    ),
    "Firefox, Android": ("Mozilla/5.0 (Android 15; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", "mobile"),
    "Safari, iPad": (
        "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1"
        " Mobile/15E148 Safari/604.1",
        "tablet",
    ),
    "Facebook in-app, iPhone": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
        " Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.41.106;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.5;FBLC/fr_FR]",
        "mobile",
    ),
    "the suite's Chrome": (CHROME, "desktop"),
}


@pytest.mark.parametrize("agent", BOTS.values(), ids=BOTS.keys())
def test_bots_are_bots(agent: str) -> None:
    device = device_of(agent)
    assert device.is_bot and device.type == "bot"
    assert device.headless == ("Headless" in agent)


@pytest.mark.parametrize(("agent", "kind"), PEOPLE.values(), ids=PEOPLE.keys())
def test_browsers_are_people(agent: str, kind: str) -> None:
    device = device_of(agent)
    assert not device.is_bot and not device.headless
    assert device.type == kind


def test_no_user_agent_is_no_bot() -> None:
    # The Segment door passes "" for a message without context.userAgent: a server-side call.
    assert device_of("") == Device("desktop", "", False)


def test_only_the_start_of_a_long_user_agent_is_read() -> None:
    chrome, _ = PEOPLE["Chrome, Windows"]
    padded = chrome + " " * MAX_LENGTH
    assert device_of(padded + "Googlebot/2.1") == device_of(chrome)
