"""What request handlers share: the store, the sites, the signer, the abuse guard, the clock and id source.

The clock and the visitor-id generator are injected so tests are deterministic.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from tracker.config import Settings
from tracker.domain.identity import VisitorTokens
from tracker.services.abuse import Guard
from tracker.services.sites import SiteRegistry
from tracker.store import Store


@dataclass(slots=True)
class Runtime:
    settings: Settings
    store: Store
    sites: SiteRegistry
    tokens: VisitorTokens
    clock: Callable[[], float]
    new_visitor_id: Callable[[], str]
    guard: Guard


def new_visitor_id() -> str:
    return secrets.token_urlsafe(16)
