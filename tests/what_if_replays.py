"""What-if replays made to fail or to wait, for the tests of what-if runs and of the console's what-if page."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tracker.services import what_if_runs

ERROR = "the disk is on fire"


def break_replays(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every replay fails with ``ERROR``."""

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError(ERROR)

    monkeypatch.setattr(what_if_runs, "what_if", broken)


def hold_replays(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Every replay waits for the returned event before it starts, as a large site's takes its time."""
    gate = asyncio.Event()
    replay = what_if_runs.what_if

    async def waiting(*args: Any, **kwargs: Any) -> Any:
        await gate.wait()
        return await replay(*args, **kwargs)

    monkeypatch.setattr(what_if_runs, "what_if", waiting)
    return gate
