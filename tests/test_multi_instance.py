"""Two real server processes on one PostgreSQL: interleaved events and a racing merge
end exactly where a sequential replay of the stored history ends."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator, Iterator
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

import asyncpg
import httpx
import pytest

from tracker.app import DEMO_PROGRAMME
from tracker.domain.scoring import current_scores, replay
from tracker.services.sites import load_programme_file
from tracker.store import open_store

from .conftest import CHROME, POSTGRES
from .test_serve import cli_key, start_server, stop_server


async def collect(http: httpx.AsyncClient, base: str, vid: str | None, *events: dict[str, object]) -> str:
    """Send ``events`` as the device ``vid`` (a new one if None); return its token."""
    body: dict[str, object] = {"site": "demo", "events": list(events)}
    if vid:
        body["vid"] = vid
    response = await http.post(base + "/collect", json=body)
    assert response.status_code == 200, response.text
    token: str = response.json()["vid"]
    return token


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

        def page(path: str) -> dict[str, object]:
            return {"type": "page", "url": "http://shop.test" + path}

        laptop = await collect(http, a, None, page("/demo/"))
        newsletter = {"type": "form", "name": "newsletter", "props": {"email": "race@example.com"}}
        laptop = await collect(http, b, laptop, newsletter)
        phone = await collect(http, b, None, page("/demo/"))

        laptop_events = [
            page("/demo/produits/general/maker-one"),  # 5/1d cap: exactly 15 whatever the interleaving
            page("/demo/blog/qualite/precision"),  # always: 2 each
            {"type": "download", "url": "http://shop.test/demo/files/livre-blanc-c.pdf"},  # once: 12
        ] * 8
        phone_events = [page("/demo/produits/medical/bioprint-x"), page("/demo/blog/qualite/service")] * 6
        jobs = [collect(http, (a, b)[i % 2], laptop, event) for i, event in enumerate(laptop_events)]
        jobs += [collect(http, (b, a)[i % 2], phone, event) for i, event in enumerate(phone_events)]
        merge_at = len(jobs) // 2
        jobs.insert(merge_at, collect(http, a, phone, {"type": "identify", "props": {"email": "race@example.com"}}))
        await asyncio.gather(*jobs)

    programme = load_programme_file(DEMO_PROGRAMME)
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


# -- racing identification -------------------------------------------------------------------------

RACING_PAIRS = 50
QUALITY = "http://shop.test/demo/blog/qualite/"


@pytest.fixture
def sqlite_workers(tmp_path: Path) -> Iterator[list[str]]:
    process, base = start_server(tmp_path / "w", "--demo", "--workers", "2")
    try:
        yield [base, base]  # the kernel spreads new connections over both workers
    finally:
        stop_server(process)


async def _race_identifications(bases: list[str], key: str) -> None:
    """Two devices per person, then both identify with the person's new e-mail at the same moment:
    through /collect forms for half the people, through /v1/identify for the other half."""
    a, b = bases
    ingest = {"authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    # A fresh connection per request, so both servers (or both workers) really take part.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(headers={"user-agent": CHROME}, timeout=60, limits=limits) as http:
        # Devices are told apart by their token alone: a shared cookie jar would make them one.
        http.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))

        async def segment(base: str, message: dict[str, object]) -> None:
            response = await http.post(base + "/v1/batch", json={"batch": [message]}, headers=ingest)
            assert response.status_code == 200 and response.json()["accepted"] == 1, response.text

        laptops = await asyncio.gather(*(collect(http, a, None, _page(f"l{i}")) for i in range(RACING_PAIRS)))
        phones = await asyncio.gather(*(collect(http, b, None, _page(f"p{i}")) for i in range(RACING_PAIRS)))
        for i in range(RACING_PAIRS):
            await segment(a, {"type": "page", "anonymousId": f"lap-{i}", "properties": {"url": f"{QUALITY}l{i}"}})
            await segment(b, {"type": "page", "anonymousId": f"pho-{i}", "properties": {"url": f"{QUALITY}p{i}"}})
        racing = []
        for i in range(RACING_PAIRS):
            email = f"form-{i}@example.com"
            contact = {"email": email, "job_title": "Responsable achats"}
            racing.append(collect(http, a, laptops[i], {"type": "form", "name": "contact", "props": contact}))
            newsletter = {"type": "form", "name": "newsletter", "props": {"email": email}}
            racing.append(collect(http, b, phones[i], newsletter))
            user = f"v1-{i}@example.com"
            traits = {"email": user, "job_title": "Acheteur"}
            racing.append(segment(a, {"type": "identify", "anonymousId": f"lap-{i}", "userId": user, "traits": traits}))
            racing.append(segment(b, {"type": "identify", "anonymousId": f"pho-{i}", "userId": user}))
        await asyncio.gather(*racing)


async def _assert_one_person_per_email(store_url: str) -> None:
    programme = load_programme_file(DEMO_PROGRAMME)
    store = open_store(store_url)
    await store.open()
    try:

        async def people(q):  # type: ignore[no-untyped-def]
            rows = await q.conn.fetchall("SELECT id, email, user_id FROM persons ORDER BY id")
            return [(row, await q.person(row["id"]), await q.events_of(row["id"])) for row in rows]

        found = await store.read(people)
    finally:
        await store.close()
    assert len(found) == 2 * RACING_PAIRS, [(row["email"], row["user_id"]) for row, _, _ in found]
    for row, person, events in found:
        assert row["email"] is not None, f"person {row['id']} lost its identity"
        # Both devices' page views and identifications are on the one person.
        assert len(events) == 4, (row["email"], [(e.type, e.url) for e in events])
        expected = replay(programme.scoring, events)
        assert person.scoring.values == expected.state.values
        assert person.scoring.values["engagement"] == 4
        if row["email"].startswith("form-"):
            assert person.scoring.values["fit"] == 10  # the laptop's form said "achats"
        else:
            assert row["user_id"] == row["email"]


async def test_racing_identifications_on_two_instances_end_as_if_sequential(
    instances: list[str], schema: str, tmp_path: Path
) -> None:
    await _race_identifications(instances, cli_key(tmp_path / "a", "ingest", db=f"{POSTGRES}?schema={schema}"))
    await _assert_one_person_per_email(f"{POSTGRES}?schema={schema}")


async def test_racing_identifications_on_two_sqlite_workers_end_as_if_sequential(
    sqlite_workers: list[str], tmp_path: Path
) -> None:
    await _race_identifications(sqlite_workers, cli_key(tmp_path / "w", "ingest"))
    await _assert_one_person_per_email(str(tmp_path / "w" / "tracker.db"))


def _page(slug: str) -> dict[str, object]:
    return {"type": "page", "url": QUALITY + slug}
