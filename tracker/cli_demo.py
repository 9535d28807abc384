"""``tracker serve --demo``: the demo's generated history, written before any worker starts."""

from __future__ import annotations

import time

from tracker.cli_users import WithStore
from tracker.config import Settings


def demo_history_line(settings: Settings, with_store: WithStore) -> str:
    """Write the history once (workers would race for it otherwise); the line saying what happened."""
    from tracker.app import DEMO_NAME, DEMO_PROGRAMME, DEMO_SITE
    from tracker.services.demo_history import ensure_demo

    programme = DEMO_PROGRAMME.read_text(encoding="utf-8")
    started = time.perf_counter()
    truth = with_store(settings, lambda store: ensure_demo(store, DEMO_SITE, DEMO_NAME, programme, time.time()))
    if truth is None:
        return "demo history: already there"
    return (
        f"demo history: {truth.people} people, {truth.requests} requests, {truth.events} events,"
        f" {truth.outcomes} outcomes over the last {truth.days} days, written in {time.perf_counter() - started:.1f} s"
    )
