"""A large what-if run replayed in a process of its own, beside the server's.

A replay in the server shares its event loop with ingestion, and its SQLite reader thread shares the
interpreter's lock with it: on 10,000 people and 500,000 events, beacon calls served 0.48–0.74× of
their rate alone while a marketer replayed a draft, their p99 127–180 ms against 25–39 ms alone.  The
same replay in another process (``tracker what-if``) left them 0.85–0.87× and p99 36–54 ms.  So a run
of 2,000 people or more (``Settings.what_if_apart_people``) is replayed by a child process: it opens
the store itself, records the run's progress and result as the server would (``what_if_runs.replay``),
and exits.  A smaller run stays in the server, where it ends before a child would have started (about
1 s to import tracker).

The child's clock is the real one: its heartbeats are what tells the server's pages it is alive.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from tracker.domain.programme.load import Programme, load_programme
from tracker.services.apart import child_store, run_apart
from tracker.services.background import Background
from tracker.services.runtime import Runtime
from tracker.services.what_if_runs import FAILED, INTERRUPTED, replay
from tracker.store import Store
from tracker.store.what_if_queries import WhatIfRun

log = logging.getLogger("tracker.what_if")


def carry_on(
    runtime: Runtime, background: Background, run: WhatIfRun, draft: Programme, site_key: str
) -> asyncio.Task[None]:
    """Replay ``run`` in the background: in a child process if it is large (it compiles the draft's
    source again), else here."""
    store, clock = runtime.store, runtime.clock
    settings = runtime.settings
    if run.total >= settings.what_if_apart_people:
        url, synchronous = settings.database_url, settings.sqlite_synchronous
        job = replay_apart(store, run, draft.source, site_key, url=url, synchronous=synchronous, clock=clock)
    else:
        job = replay(store, run, draft, site_key, clock=clock)
    return background.start(job, name=f"what-if-{run.id}")


async def replay_apart(
    store: Store, run: WhatIfRun, source: str, site_key: str, *, url: str, synchronous: str, clock: Callable[[], float]
) -> None:
    """Replay ``run`` in a child process; the run is failed if the child dies without a word, and
    interrupted, with the child stopped, if this task is cancelled (the server stops)."""
    try:
        code = await run_apart(_child, (url, synchronous, run.id, source, site_key), name=f"tracker-what-if-{run.id}")
    except BaseException:
        await store.write(lambda q: q.finish_what_if_run(run.id, INTERRUPTED, clock()))
        raise
    if code != 0:
        # A run the child recorded as ended stays as it is (only a running run is finished).
        error = f"the replay's process ended with code {code}"
        log.error("what-if run %s: %s", run.id, error)
        await store.write(lambda q: q.finish_what_if_run(run.id, FAILED, clock(), error=error))


def _child(url: str, synchronous: str, run_id: int, source: str, site_key: str) -> None:
    asyncio.run(_replay_alone(url, synchronous, run_id, source, site_key))


async def _replay_alone(url: str, synchronous: str, run_id: int, source: str, site_key: str) -> None:
    store = child_store(url, synchronous)
    await store.open()
    try:
        run = await store.read(lambda q: q.what_if_run(run_id))
        if run is not None:
            await replay(store, run, load_programme(source), site_key, clock=time.time)
    finally:
        await store.close()
