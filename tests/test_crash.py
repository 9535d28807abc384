"""Crash safety: SIGKILL under load loses nothing that was acknowledged."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import httpx

from tracker.app import DEMO_PROGRAMME
from tracker.domain.scoring import replay
from tracker.services.sites import load_programme_file
from tracker.store import open_store

from .conftest import CHROME
from .test_serve import start_server, stop_server

VISITORS = 16


async def hammer(base: str, acked: list[int], seconds: float) -> None:
    """Each visitor posts numbered events until the server dies; record what got a 2xx."""
    deadline = time.monotonic() + seconds
    counter = iter(range(1_000_000))
    async with httpx.AsyncClient(headers={"user-agent": CHROME}, timeout=5) as http:

        async def visitor() -> None:
            vid = None
            while time.monotonic() < deadline:
                seq = next(counter)
                event = {"type": "page", "url": f"http://shop.test/demo/blog/qualite/{seq}", "props": {"seq": seq}}
                body: dict[str, object] = {"site": "demo", "events": [event]}
                if vid:
                    body["vid"] = vid
                try:
                    response = await http.post(base + "/collect", json=body)
                except httpx.TransportError:
                    return  # the server is gone
                if response.status_code == 200:
                    acked.append(seq)
                    vid = response.json()["vid"]

        await asyncio.gather(*(visitor() for _ in range(VISITORS)))


async def test_sigkill_under_load_loses_no_acknowledged_event(tmp_path: Path) -> None:
    process, base = start_server(tmp_path, "--demo")
    acked: list[int] = []
    load = asyncio.create_task(hammer(base, acked, seconds=10))
    await asyncio.sleep(1.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    await load
    assert len(acked) > 50, "the load never got going"

    process, base = start_server(tmp_path, "--demo")  # restarts on the same files
    try:
        assert httpx.get(base + "/readyz").status_code == 200
    finally:
        stop_server(process)

    store = open_store(str(tmp_path / "tracker.db"))
    await store.open()
    try:

        async def everything(q):  # type: ignore[no-untyped-def]
            rows = await q.conn.fetchall("SELECT id FROM persons")
            return [(await q.person(row["id"]), await q.events_of(row["id"])) for row in rows]

        persons = await store.read(everything)
    finally:
        await store.close()

    stored = Counter(event.props["seq"] for _, events in persons for event in events)
    assert all(stored[seq] == 1 for seq in acked), "an acknowledged event is missing or stored twice"
    assert all(count == 1 for count in stored.values())
    scoring = load_programme_file(DEMO_PROGRAMME).scoring
    for person, events in persons:
        assert person.scoring.values == replay(scoring, events).state.values
