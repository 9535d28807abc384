"""Segment's message ids: remembered for thirty days, so a retry within them never scores twice,
then forgotten, so the table does not grow with the traffic for ever."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tracker.app import create_app
from tracker.config import Settings
from tracker.domain.privacy import DAY
from tracker.services.message_ids import MESSAGE_ID_DAYS, forget_old_message_ids

from .conftest import BASE, Clock, Server
from .test_segment import page, post


async def accepted(server: Server, message_id: str) -> int:
    answer = (await post(server, "/v1/batch", {"batch": [page("d1", message_id, message_id)]})).json()
    return int(answer["accepted"])


async def test_a_retry_within_the_window_is_a_duplicate_and_an_id_past_it_is_forgotten(server: Server) -> None:
    assert MESSAGE_ID_DAYS == 30
    assert await accepted(server, "m-old") == 1
    server.clock.advance(29 * DAY)
    assert await accepted(server, "m-new") == 1
    assert await accepted(server, "m-old") == 0  # 29 days on: still a retry
    server.clock.advance(2 * DAY)

    assert await forget_old_message_ids(server.runtime.store, server.clock()) == 1
    assert await server.count("message_ids") == 1
    assert await accepted(server, "m-new") == 0  # 2 days old: kept
    assert await accepted(server, "m-old") == 1  # 31 days old: forgotten, so stored again
    assert await server.count("events") == 3


async def test_forgetting_goes_a_batch_of_ids_at_a_time_until_none_is_left(server: Server) -> None:
    batch = {"batch": [page("d1", f"p{n}", f"m-{n}") for n in range(5)]}
    assert (await post(server, "/v1/batch", batch)).json()["accepted"] == 5
    server.clock.advance(31 * DAY)
    assert await accepted(server, "m-recent") == 1
    server.clock.advance(1 * DAY)

    store, before = server.runtime.store, server.clock() - MESSAGE_ID_DAYS * DAY
    assert await store.write(lambda q: q.forget_messages_before(before, 2)) == 2  # one transaction, one batch
    assert await forget_old_message_ids(store, server.clock(), batch=2) == 3
    assert await server.count("message_ids") == 1
    assert await forget_old_message_ids(server.runtime.store, server.clock(), batch=2) == 0


async def test_the_servers_hourly_job_forgets_old_message_ids(tmp_path: Path, database: str | None) -> None:
    clock = Clock()
    settings = Settings(data_dir=tmp_path, db=database, demo=True, secret="test-secret")
    app = create_app(settings, clock=clock, purge_every=0.02)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        server = Server(app, http, clock)
        assert await accepted(server, "m-1") == 1
        clock.advance(31 * DAY)
        for _ in range(200):
            if not await server.count("message_ids"):
                break
            await asyncio.sleep(0.02)
        assert await server.count("message_ids") == 0


async def test_batches_and_two_forgets_racing_end_as_if_in_sequence(server: Server) -> None:
    # Two instances' hourly jobs and Segment's deliveries at once: every recent id stays claimed, every
    # old one is forgotten once, and a retry within the window is still a duplicate whoever runs first.
    old = {"batch": [page("d1", f"o{n}", f"m-old-{n}") for n in range(5)]}
    assert (await post(server, "/v1/batch", old)).json()["accepted"] == 5
    server.clock.advance(29 * DAY)
    recent = {"batch": [page("d2", f"r{n}", f"m-recent-{n}") for n in range(5)]}
    assert (await post(server, "/v1/batch", recent)).json()["accepted"] == 5
    server.clock.advance(2 * DAY)

    store, now = server.runtime.store, server.clock()
    fresh = {"batch": [page("d3", f"f{n}", f"m-fresh-{n}") for n in range(5)]}
    forgotten, forgotten_too, retry, new = await asyncio.gather(
        forget_old_message_ids(store, now, batch=2),
        forget_old_message_ids(store, now, batch=2),
        post(server, "/v1/batch", recent),
        post(server, "/v1/batch", fresh),
    )
    assert (retry.json()["accepted"], retry.json()["duplicates"]) == (0, 5)
    assert new.json()["accepted"] == 5
    ids = await server.runtime.store.read(lambda q: q.conn.fetchall("SELECT message_id FROM message_ids"))
    assert sorted(row["message_id"] for row in ids) == sorted(
        [f"m-recent-{n}" for n in range(5)] + [f"m-fresh-{n}" for n in range(5)]
    )
    assert forgotten + forgotten_too == 5  # each old id forgotten by one of the two
    assert await server.count("events") == 15
