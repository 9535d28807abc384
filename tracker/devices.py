"""Device type, browser family and bot verdict from a User-Agent, cached.

User-agent parsing runs dozens of regular expressions; the same few hundred strings
account for nearly all traffic, so results are memoised.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from user_agents import parse


@dataclass(frozen=True, slots=True)
class Device:
    type: str  # desktop | mobile | tablet | bot
    browser: str
    is_bot: bool


@lru_cache(maxsize=4096)
def device_of(user_agent: str) -> Device:
    if not user_agent:
        return Device("desktop", "", False)
    agent = parse(user_agent[:512])
    if agent.is_bot:
        return Device("bot", agent.browser.family, True)
    kind = "tablet" if agent.is_tablet else "mobile" if agent.is_mobile else "desktop"
    return Device(kind, agent.browser.family, False)
