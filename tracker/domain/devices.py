"""Device type, browser family and bot verdict from a User-Agent, cached.

A bot is what either of two lists names: user-agents' (search engines and the like) or
crawlerdetect's (a port of the maintained Crawler-Detect list, 1,400+ patterns), which
also knows the HTTP libraries and scrapers that user-agents takes for browsers: curl,
python-requests, Go-http-client, axios, Wget, node-fetch, okhttp, Apache-HttpClient,
Bytespider...

Both lists are regular expressions by the hundred: an unseen browser's string costs 1 to
8 ms (crawlerdetect's part 0.3 to 7), a made-up 512-character one up to ~30 ms, a string
seen before under 1 µs.  The same few hundred strings account for nearly all traffic, so
verdicts are memoised, per string cut to ``MAX_LENGTH`` so the memo's size stays bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from crawlerdetect import CrawlerDetect
from user_agents import parse

# Browsers' user agents stay well under this; beyond it, a string only costs.
MAX_LENGTH = 512
# One instance for the process: the list compiles into one expression on first use.
_CRAWLERS = CrawlerDetect()
# Automation that says so in its user agent; crawlerdetect knows some of it, user-agents none.
_HEADLESS = re.compile(r"headless|phantomjs|slimerjs|puppeteer|playwright|selenium|webdriver", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Device:
    type: str  # desktop | mobile | tablet | bot
    browser: str
    is_bot: bool
    # A bot driving a real browser engine rather than a crawler: ignored traffic counts it apart.
    headless: bool = False


def device_of(user_agent: str) -> Device:
    return _device(user_agent[:MAX_LENGTH])


@lru_cache(maxsize=4096)
def _device(user_agent: str) -> Device:
    if not user_agent:
        return Device("desktop", "", False)
    agent = parse(user_agent)
    headless = _HEADLESS.search(user_agent) is not None
    if headless or agent.is_bot or _CRAWLERS.is_crawler(user_agent):
        return Device("bot", agent.browser.family, True, headless)
    kind = "tablet" if agent.is_tablet else "mobile" if agent.is_mobile else "desktop"
    return Device(kind, agent.browser.family, False)


def warm_up() -> None:
    """Compile crawlerdetect's patterns now (it does so on first use, ~100 ms)."""
    _CRAWLERS.is_crawler("Mozilla/5.0 (warm-up)")
