"""What-if runs (services/what_if_runs.py): the console's what-if in the background, its progress page by
page and its result kept; the same question answered by the same run while it is fresh."""

from __future__ import annotations

import asyncio

import pytest

from tracker.domain.programme.load import load_programme
from tracker.services import what_if as what_if_module
from tracker.services import what_if_runs
from tracker.services.what_if import what_if
from tracker.store.what_if_queries import WhatIfQueries, WhatIfRun

from .conftest import Server
from .rescore_history import DRAFT, plant, publish_draft
from .what_if_replays import ERROR, break_replays, hold_replays

DAYS = 30


async def start(server: Server, source: str = DRAFT, days: int = DAYS, author: str = "ann@example.com") -> WhatIfRun:
    """A new run of the question, as "Replay again" asks."""
    run, new = await what_if_runs.start(
        server.runtime.store, 1, source, days, author=author, now=server.clock(), again=True
    )
    assert new
    return run


async def carry_on(server: Server, run: WhatIfRun, source: str = DRAFT) -> WhatIfRun:
    store = server.runtime.store
    await what_if_runs.replay(store, run, load_programme(source), "demo", clock=server.clock)
    found = await store.read(lambda q: q.what_if_run(run.id))
    assert found is not None
    return found


async def current(server: Server, source: str = DRAFT, days: int = DAYS) -> WhatIfRun | None:
    return await what_if_runs.current(server.runtime.store, 1, source, days, server.clock())


async def test_a_run_records_its_progress_page_by_page_then_its_result(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    await plant(server, extra=3)
    monkeypatch.setattr(what_if_module, "PAGE", 2)
    heard: list[int] = []
    recorded = WhatIfQueries.what_if_progress

    async def progress(q: WhatIfQueries, run_id: int, done: int, now: float) -> bool:
        heard.append(done)
        return await recorded(q, run_id, done, now)

    monkeypatch.setattr(WhatIfQueries, "what_if_progress", progress)
    run = await start(server)
    assert (run.status, run.total, run.done, run.result) == ("running", 6, 0, None)
    done = await carry_on(server, run)
    assert heard == [2, 4, 6]
    expected = await what_if(server.runtime.store, "demo", load_programme(DRAFT), days=DAYS, now=run.started_at)
    assert (done.status, done.done, done.error) == ("done", 6, None)
    assert done.result == expected.to_json()
    assert done.result is not None and done.result["changed"] == 1


async def test_the_same_question_gets_the_same_run_while_it_is_fresh(server: Server) -> None:
    await plant(server)
    run = await start(server)
    assert await current(server) == run  # running
    store = server.runtime.store
    asked = await what_if_runs.start(store, 1, DRAFT, DAYS, author="bob@example.com", now=server.clock())
    assert asked == (run, False)  # asked again, by anyone: the same run, no second replay
    server.clock.advance(what_if_runs.STALLED)
    assert await current(server) is None  # silent: its process is gone
    run = await carry_on(server, await start(server))
    assert (await current(server)) == run
    assert await current(server, days=DAYS + 1) is None
    assert await current(server, source=DRAFT + "\n# another draft\n") is None
    server.clock.advance(what_if_runs.FRESH - 1)
    assert await current(server) == run
    server.clock.advance(1)
    assert await current(server) is None  # people kept coming: ask again
    run = await carry_on(server, await start(server))
    await publish_draft(server)
    assert await current(server) is None  # compared with a version no longer active


async def test_asking_another_question_stops_the_users_running_run(server: Server) -> None:
    await plant(server)
    first = await start(server)
    theirs = await start(server, author="bob@example.com")
    second = await start(server, days=7)
    stopped = await carry_on(server, first)
    assert (stopped.status, stopped.result) == ("superseded", None)
    assert (await carry_on(server, second)).status == "done"
    assert (await carry_on(server, theirs)).status == "done"  # another user's question


async def test_a_failed_replay_is_kept_with_its_error_rather_than_asked_again(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    await plant(server)
    break_replays(monkeypatch)
    failed = await carry_on(server, await start(server))
    assert (failed.status, failed.error, failed.result) == ("failed", ERROR, None)
    assert await current(server) == failed


async def test_a_run_cancelled_by_a_stop_is_interrupted_and_asked_again(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    await plant(server)
    hold_replays(monkeypatch)
    run = await start(server)
    task = asyncio.create_task(
        what_if_runs.replay(server.runtime.store, run, load_programme(DRAFT), "demo", clock=server.clock)
    )
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stopped = await server.runtime.store.read(lambda q: q.what_if_run(run.id))
    assert stopped is not None and stopped.status == "interrupted"
    assert await current(server) is None


async def test_runs_are_forgotten_after_a_week(server: Server) -> None:
    await plant(server)
    old = await carry_on(server, await start(server))
    server.clock.advance(what_if_runs.KEEP + 1)
    await start(server, days=7)
    assert await server.runtime.store.read(lambda q: q.what_if_run(old.id)) is None
