"""What-if runs: the console's what-if carried on in the background, its progress and result kept.

A what-if replays every event of the people it covers (``services.what_if``): on a site of 100,000
people and 5,000,000 events that took 44 s, more than a page should hang on, and longer than a
proxy in front of the console may wait.  The console starts a run instead.  The run records how many
people it has replayed after every page of people, and its result when it ends, in ``what_if_runs``,
so the page shows a progress bar while it runs (whichever worker process serves the page, and after
the user left it and came back) and the result once done.  The page waits ``WAIT`` seconds for a new
run first: a small site's run ends by then, and its result shows at once, as it always did.

A run answers one question: this draft (by its digest), over the people seen in these days, against
the site's active version.  The same question asked again within ``FRESH`` seconds gets the same run,
running, done or failed (a failed run shows its error rather than failing again and again); after
that the page asks again, since people kept coming.  A user asking another
question stops their own running run on the site (superseded): one replay each at a time.  A run
cut short by a stop of the server is left interrupted, and one whose process died goes silent;
either way the next visit starts a new run.  A site's runs older than ``KEEP`` seconds are deleted
when its next run starts.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from tracker.domain.programme.load import Programme
from tracker.services.what_if import DAY, WhatIf, what_if
from tracker.store import Queries, Store
from tracker.store.what_if_queries import WhatIfRun

log = logging.getLogger("tracker.what_if")

RUNNING, DONE, FAILED, INTERRUPTED = "running", "done", "failed", "interrupted"  # and "superseded", in SQL
# Seconds a page waits for the run it started before showing its progress instead.
WAIT = 2.0
# A done run answers the same question for this long; a running one as long as it runs.
FRESH = 600.0
# A running run whose progress has not moved for this long lost its process.
STALLED = 60.0
KEEP = 7 * DAY


class Superseded(Exception):
    """The run's user asked another question: the replay stops where it is."""


def digest(source: str) -> str:
    """The draft's identity: the same text asks the same question."""
    return hashlib.sha256(source.encode()).hexdigest()


def is_running(run: WhatIfRun, now: float) -> bool:
    return run.status == RUNNING and now - run.heartbeat < STALLED


def answers(run: WhatIfRun, version: int, now: float) -> bool:
    """Whether ``run`` still answers its question: against the active version, running or freshly ended.

    A failed run answers too, with its error: asked again at once, it would most likely fail again.
    """
    if run.version != version:
        return False
    ended = run.status in (DONE, FAILED) and run.finished_at is not None and now - run.finished_at < FRESH
    return ended or is_running(run, now)


async def current(store: Store, site_id: int, source: str, days: int, now: float) -> WhatIfRun | None:
    """The run answering this draft over these days now, if there is one."""

    async def read(q: Queries) -> WhatIfRun | None:
        return (await _answering(q, site_id, digest(source), days, now))[1]

    return await store.read(read)


async def start(
    store: Store, site_id: int, source: str, days: int, *, author: str, now: float, again: bool = False
) -> tuple[WhatIfRun, bool]:
    """The run answering ``source`` over ``days``, and whether it is new (the caller then replays it).

    A run already answering the question is the answer, unless the user asks ``again``; a new one stops
    the author's other running runs on the site.  Starts on one site take turns (its row is locked), so
    two pages asking the same question at once share one run, as one after the other would.
    """

    async def unit(q: Queries) -> tuple[WhatIfRun, bool]:
        await q.lock_site(site_id)
        question = digest(source)
        version, found = await _answering(q, site_id, question, days, now)
        if found is not None and not again:
            return found, False
        await q.forget_what_if_runs(site_id, now - KEEP)
        await q.supersede_what_if_runs(site_id, author, now)
        total = await q.count_people(site_id, now - days * DAY)
        return await q.insert_what_if_run(site_id, version, question, days, total, author, now), True

    return await store.write(unit)


async def _answering(q: Queries, site_id: int, question: str, days: int, now: float) -> tuple[int, WhatIfRun | None]:
    """The site's active version, and the run answering the question against it now (None: none does)."""
    latest = await q.latest_programme_version(site_id)
    version = latest.number if latest is not None else 0
    run = await q.latest_what_if_run(site_id, question, days)
    return version, run if run is not None and answers(run, version, now) else None


async def replay(store: Store, run: WhatIfRun, draft: Programme, site_key: str, *, clock: Callable[[], float]) -> None:
    """Replay ``draft`` for ``run`` to its end, recording its progress, then its result (or its error)."""

    async def progress(done: int) -> None:
        if not await store.write(lambda q: q.what_if_progress(run.id, done, clock())):
            raise Superseded

    async def finish(status: str, *, result: WhatIf | None = None, error: str | None = None) -> None:
        done = None if result is None else result.tally.people
        outcome = None if result is None else result.to_json()
        await store.write(
            lambda q: q.finish_what_if_run(run.id, status, clock(), done=done, result=outcome, error=error)
        )

    try:
        # "The people seen in the last N days" as of the moment the run was asked for.
        result = await what_if(store, site_key, draft, days=run.days, now=run.started_at, progress=progress)
    except Superseded:
        return
    except Exception as exc:
        log.exception("what-if run %s failed", run.id)
        await finish(FAILED, error=str(exc) or type(exc).__name__)
        return
    except BaseException:  # cancelled: the server stops
        await finish(INTERRUPTED)
        raise
    await finish(DONE, result=result)
