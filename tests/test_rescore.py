"""Re-scoring history (services/rescore.py): the same story as the what-if, resumable, beside ingestion."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tracker.domain.facts import ScoreState
from tracker.domain.programme.load import load_programme
from tracker.domain.scoring import replay
from tracker.services import rescore
from tracker.services.rescore import RescoreRunning
from tracker.services.webhooks import add_webhook
from tracker.services.what_if import replay_site, what_if
from tracker.store import Queries

from .conftest import Server
from .rescore_history import DRAFT, plant, publish_draft


async def stored_state(server: Server) -> dict[int, Any]:
    """Per person: stage, scoring state and score copies, as stored."""

    async def read(q: Queries) -> dict[int, Any]:
        people = await q.people_after(1, 0, 10_000)
        copies = await q.conn.fetchall("SELECT person_id, score, value FROM person_scores")
        values: dict[int, dict[str, float]] = {}
        for row in copies:
            values.setdefault(int(row["person_id"]), {})[row["score"]] = float(row["value"])
        return {p.id: (p.stage, p.scoring.to_json(), values.get(p.id, {})) for p in people}

    return await server.runtime.store.read(read)


async def run_to_the_end(server: Server) -> dict[str, Any]:
    job = await rescore.start(server.runtime.store, "demo", author="cli", now=server.clock())
    done = await rescore.run(server.runtime.store, job.id, clock=server.clock)
    assert done.status == "done"
    return done.summary


async def test_a_rescore_does_what_the_what_if_said(server: Server) -> None:
    ids = await plant(server, extra=2)
    store = server.runtime.store
    draft = load_programme(DRAFT)
    said = await what_if(store, "demo", draft, days=None, now=server.clock())
    replayed = {person.id: r.result.state.to_json() async for person, r in replay_site(store, 1, draft.scoring)}
    version = await publish_draft(server)
    summary = await run_to_the_end(server)
    assert summary == said.tally.to_json()
    state = await stored_state(server)
    assert {pid: scoring for pid, (_, scoring, _) in state.items()} == replayed
    assert {pid: values for pid, (_, _, values) in state.items()} == {
        pid: ScoreState.from_json(scoring).values for pid, scoring in replayed.items()
    }
    assert state[ids["elodie"]][0] == "mql"
    assert state[ids["capucine"]][0] == "sql"  # never taken back from sales
    lead = await server.api(f"/api/leads/{ids['elodie']}")
    assert {row["rescored_by"] for row in lead["ledger"]} == {version}
    assert {s["stage"]: s["reason"] for s in lead["stages"]}["mql"] == f"rescore v{version}"


async def test_an_interrupted_rescore_resumes_and_ends_as_one_run(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    await plant(server, extra=3)
    store = server.runtime.store
    said = await what_if(store, "demo", load_programme(DRAFT), days=None, now=server.clock())
    await publish_draft(server)
    monkeypatch.setattr(rescore, "BATCH", 2)
    job = await rescore.start(store, "demo", author="cli", now=server.clock())

    def interrupt(people: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await rescore.run(store, job.id, clock=server.clock, progress=interrupt)
    _, stopped = await rescore.latest(store, "demo")
    assert stopped is not None and (stopped.status, stopped.done) == ("interrupted", 2)
    resumed = await rescore.start(store, "demo", author="cli", now=server.clock())
    assert resumed.id == job.id
    done = await rescore.run(store, job.id, clock=server.clock)
    assert (done.status, done.done, done.summary) == ("done", 6, said.tally.to_json())


async def test_a_second_start_is_refused_naming_the_running_job(server: Server) -> None:
    await plant(server)
    store = server.runtime.store
    job = await rescore.start(store, "demo", author="amelie@acme.fr", now=server.clock())
    with pytest.raises(RescoreRunning) as refused:
        await rescore.start(store, "demo", author="cli", now=server.clock())
    assert f"rescore job {job.id} (version 1, started by amelie@acme.fr" in refused.value.message
    # Its process died: after a minute without progress, the next start takes it over.
    server.clock.advance(rescore.STALLED)
    assert (await rescore.start(store, "demo", author="cli", now=server.clock())).id == job.id


async def test_two_starts_at_once_end_as_if_one_came_first(server: Server) -> None:
    await plant(server)
    store = server.runtime.store
    starts = [rescore.start(store, "demo", author=author, now=server.clock()) for author in ("cli", "amelie@acme.fr")]
    outcomes = await asyncio.gather(*starts, return_exceptions=True)
    jobs = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, RescoreRunning)]
    assert (len(jobs), len(refused)) == (1, 1), outcomes
    assert f"rescore job {jobs[0].id} " in refused[0].message
    assert await server.count("rescore_jobs") == 1


async def test_a_newer_version_supersedes_an_unfinished_job(server: Server) -> None:
    await plant(server)
    store = server.runtime.store
    first = await rescore.start(store, "demo", author="cli", now=server.clock())
    server.clock.advance(rescore.STALLED)
    await publish_draft(server)
    second = await rescore.start(store, "demo", author="cli", now=server.clock())
    assert (second.id, second.version) != (first.id, first.version)
    summary = (await rescore.run(store, second.id, clock=server.clock)).summary
    assert summary["changed"] == 1


async def test_events_recorded_during_a_rescore_are_all_kept_and_scored(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await plant(server, extra=6)
    beacons = [server.beacon() for _ in range(4)]
    for beacon in beacons:
        await beacon.form("contact", email=f"{id(beacon)}@example.fr")
    await publish_draft(server)
    monkeypatch.setattr(rescore, "BATCH", 1)
    store = server.runtime.store
    job = await rescore.start(store, "demo", author="cli", now=server.clock())

    async def ingest() -> None:
        # Into the middle of the job: some people re-scored already, most still to come.
        while (now := await store.read(lambda q: q.rescore_job(job.id))) is not None and now.done < 2:
            await asyncio.sleep(0)
        for n in range(3):
            for beacon in beacons:
                await beacon.download(f"/livre-blanc-{'abc'[n]}.pdf")
                await asyncio.sleep(0)

    before = await server.count("events")
    done, _ = await asyncio.gather(rescore.run(store, job.id, clock=server.clock), ingest())
    assert done.done == len(ids) + len(beacons)
    assert await server.count("events") == before + 12
    scoring = load_programme(DRAFT).scoring
    for pid, (_, stored, _) in (await stored_state(server)).items():
        events = await store.read(lambda q, pid=pid: q.events_of(pid))
        assert stored == replay(scoring, events).state.to_json(), pid


async def test_a_lead_the_new_grid_makes_sql_is_announced_and_routed(server: Server) -> None:
    ids = await plant(server)
    await add_webhook(server.runtime.store, 1, "https://crm.example/hook", None, server.clock(), actor="cli")
    version = await publish_draft(server, DRAFT.replace("wp_choose = 8 ", "wp_choose = 12 "))
    await run_to_the_end(server)
    lead = await server.api(f"/api/leads/{ids['elodie']}")
    assert lead["stage"] == "sql"
    assert lead["routing"]["queue"] == "inside-sales"
    assert lead["routing"]["history"][0]["reason"] == "stage:sql"

    async def announced(q: Queries) -> list[Any]:
        rows = await q.conn.fetchall(
            "SELECT event, data FROM webhook_outbox WHERE person_id = ? ORDER BY id", ids["elodie"]
        )
        return [(row["event"], row["data"]) for row in rows]

    rows = await server.runtime.store.read(announced)
    assert [event for event, payload in rows if f"rescore v{version}" in payload] == [
        "person.stage_changed",
        "person.stage_changed",
    ]
