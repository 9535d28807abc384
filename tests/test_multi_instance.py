"""Two real server processes on one PostgreSQL: interleaved events and a racing merge
end exactly where a sequential replay of the stored history ends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tracker.app import DEMO_GRID
from tracker.programme import load_programme_file
from tracker.scoring import current_scores, replay
from tracker.store import open_store

from .conftest import CHROME, POSTGRES
from .test_serve import start_server, stop_server


@pytest.fixture
async def schema() -> AsyncIterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield name
    conn = await asyncpg.connect(POSTGRES)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
def instances(tmp_path: Path, schema: str) -> Iterator[list[str]]:
    db = f"{POSTGRES}?schema={schema}"
    # Each instance has its own data dir but they must share the signing secret.
    processes = [
        start_server(tmp_path / name, "--demo", "--db", db, env={"TRACKER_SECRET": "shared-secret"})
        for name in ("a", "b")
    ]
    try:
        yield [base for _, base in processes]
    finally:
        for process, _ in processes:
            stop_server(process)


async def test_interleaved_events_and_a_racing_merge_match_a_replay(instances: list[str], schema: str) -> None:
    a, b = instances
    async with httpx.AsyncClient(headers={"user-agent": CHROME}, timeout=30) as http:

        async def send(base: str, vid: str | None, *events: dict[str, object]) -> str:
            body: dict[str, object] = {"site": "demo", "events": list(events)}
            if vid:
                body["vid"] = vid
            response = await http.post(base + "/collect", json=body)
            assert response.status_code == 200, response.text
            token: str = response.json()["vid"]
            return token

        def page(path: str) -> dict[str, object]:
            return {"type": "page", "url": "http://shop.test" + path}

        laptop = await send(a, None, page("/demo/"))
        laptop = await send(b, laptop, {"type": "form", "name": "newsletter", "props": {"email": "race@example.com"}})
        phone = await send(b, None, page("/demo/"))

        laptop_events = [
            page("/demo/produits/general/maker-one"),  # 5/1d cap: exactly 15 whatever the interleaving
            page("/demo/blog/qualite/precision"),  # always: 2 each
            {"type": "download", "url": "http://shop.test/demo/files/livre-blanc-c.pdf"},  # once: 12
        ] * 8
        phone_events = [page("/demo/produits/medical/bioprint-x"), page("/demo/blog/qualite/service")] * 6
        jobs = [send((a, b)[i % 2], laptop, event) for i, event in enumerate(laptop_events)]
        jobs += [send((b, a)[i % 2], phone, event) for i, event in enumerate(phone_events)]
        merge_at = len(jobs) // 2
        jobs.insert(merge_at, send(a, phone, {"type": "identify", "props": {"email": "race@example.com"}}))
        await asyncio.gather(*jobs)

    programme = load_programme_file(DEMO_GRID)
    store = open_store(f"{POSTGRES}?schema={schema}")
    await store.open()
    try:

        async def snapshot(q):  # type: ignore[no-untyped-def]
            person = await q.person_by_email(1, "race@example.com")
            return (
                person,
                await q.events_of(person.id),
                await q.conn.fetchval("SELECT COUNT(*) FROM persons"),
                await q.conn.fetchall("SELECT stage, COUNT(*) AS n FROM stages GROUP BY stage"),
                await q.ledger_of(person.id, 10_000),
            )

        person, events, persons, stages, ledger = await store.read(snapshot)
    finally:
        await store.close()

    # 2 + 1 setup requests, 24 + 12 racing events and the identify: every acknowledged event, once.
    assert len(events) == 3 + len(laptop_events) + len(phone_events) + 1
    assert persons == 1  # the phone's anonymous person was merged away, nothing else created
    expected = replay(programme.scoring, events)
    now = max(e.ts for e in events)
    assert current_scores(programme.scoring, person.scoring, now) == current_scores(
        programme.scoring, expected.state, now
    )
    assert person.scoring.values["general"] == 15 and person.scoring.values["engagement"] >= 12 + 2 * 14
    assert sum(row["points"] for row in ledger if row["score"] == "engagement") == person.scoring.values["engagement"]
    assert all(row["n"] == 1 for row in stages)  # each threshold crossing recorded once
    assert person.stage == "sql"
