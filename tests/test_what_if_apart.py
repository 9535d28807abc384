"""A large what-if run replayed in a child process (services/what_if_apart.py): the same result as in
the server; the run failed when the child dies, interrupted (and the child stopped) when the server stops."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from tracker.domain.programme.load import load_programme
from tracker.services import what_if_apart, what_if_runs
from tracker.services.what_if import what_if
from tracker.store.what_if_queries import WhatIfRun

from .conftest import Server
from .rescore_history import DRAFT, plant


async def started(server: Server, source: str = DRAFT) -> WhatIfRun:
    # The child's clock is the real one: so is the server's here, or its heartbeats would look stale or early.
    run, _ = await what_if_runs.start(server.runtime.store, 1, source, 30, author="ann@example.com", now=time.time())
    return run


async def apart(server: Server, run: WhatIfRun, source: str = DRAFT) -> WhatIfRun:
    settings = server.runtime.settings
    url, synchronous = settings.database_url, settings.sqlite_synchronous
    store = server.runtime.store
    await what_if_apart.replay_apart(store, run, source, "demo", url=url, synchronous=synchronous, clock=time.time)
    found = await store.read(lambda q: q.what_if_run(run.id))
    assert found is not None
    return found


async def test_a_child_process_gives_the_result_the_server_would(server: Server) -> None:
    server.clock.now = time.time()
    await plant(server)
    run = await started(server)
    done = await apart(server, run)
    expected = await what_if(server.runtime.store, "demo", load_programme(DRAFT), days=30, now=run.started_at)
    assert (done.status, done.done, done.error) == ("done", 3, None)
    assert done.result == expected.to_json()


async def test_a_child_that_dies_fails_the_run_and_a_stop_interrupts_it(server: Server) -> None:
    server.clock.now = time.time()
    await plant(server)
    broken = DRAFT.replace('points = "wp_vision"', 'points = "nope"')  # the child cannot compile it
    failed = await apart(server, await started(server, broken), broken)
    assert failed.status == "failed" and failed.error == "the replay's process ended with code 1"
    run = await started(server)
    settings = server.runtime.settings
    replaying = asyncio.create_task(
        what_if_apart.replay_apart(
            server.runtime.store,
            run,
            DRAFT,
            "demo",
            url=settings.database_url,
            synchronous=settings.sqlite_synchronous,
            clock=time.time,
        )
    )
    await asyncio.sleep(0.1)  # the child is starting
    replaying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await replaying
    stopped = await server.runtime.store.read(lambda q: q.what_if_run(run.id))
    assert stopped is not None and stopped.status == "interrupted"


async def test_only_a_large_run_leaves_the_server(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    await plant(server)
    chosen: list[str] = []

    async def apart(*args: object, **kwargs: object) -> None:
        chosen.append("apart")

    async def here(*args: object, **kwargs: object) -> None:
        chosen.append("here")

    monkeypatch.setattr(what_if_apart, "replay_apart", apart)
    monkeypatch.setattr(what_if_apart, "replay", here)
    background = server.app.state.background
    run, _ = await what_if_runs.start(server.runtime.store, 1, DRAFT, 30, author="a@example.com", now=server.clock())
    draft = load_programme(DRAFT)
    await what_if_apart.carry_on(server.runtime, background, run, draft, "demo")
    settings = dataclasses.replace(server.runtime.settings, what_if_apart_people=run.total)
    await what_if_apart.carry_on(dataclasses.replace(server.runtime, settings=settings), background, run, draft, "demo")
    assert chosen == ["here", "apart"]
