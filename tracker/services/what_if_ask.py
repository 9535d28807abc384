"""Asking a what-if: the run answering a draft over some days, started and replayed in the background if
there is none, and given a moment to end.

The console's page and the JSON API ask alike (``services.what_if_runs`` says what a run is): the same
draft over the same days shares the run already answering it, and a new run is replayed apart from the
server when the site is large (``services.what_if_apart``).  The asker waits up to ``wait`` seconds for
a new run, so that a small site's result comes in the same answer.
"""

from __future__ import annotations

import asyncio

from tracker.domain.programme.load import Programme
from tracker.services import what_if_apart, what_if_runs
from tracker.services.background import Background
from tracker.services.runtime import Runtime
from tracker.store.what_if_queries import WhatIfRun


async def ask(
    runtime: Runtime,
    background: Background,
    site_id: int,
    site_key: str,
    draft: Programme,
    days: int,
    *,
    author: str,
    again: bool,
    wait: float,
) -> WhatIfRun:
    """The run answering ``draft`` over ``days`` (a new one ``again``), as it stands after at most ``wait``
    seconds when it is new."""
    store = runtime.store
    if not again:
        # A page reloaded, a client asking again: a read finds the run answering, without the site's lock.
        found = await what_if_runs.current(store, site_id, draft.source, days, runtime.clock())
        if found is not None:
            return found
    run, new = await what_if_runs.start(
        store, site_id, draft.source, days, author=author, now=runtime.clock(), again=again
    )
    if not new:  # another asker asked the same question a moment ago: its run answers this one too
        return run
    task = what_if_apart.carry_on(runtime, background, run, draft, site_key)
    if wait > 0:
        await asyncio.wait({task}, timeout=wait)
    found = await store.read(lambda q: q.what_if_run(run.id))
    assert found is not None
    return found
