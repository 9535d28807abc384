"""Storage cost on SQLite: bytes on disk per event after ``target`` events.

Events are written in-process through the Store API, but each synthetic beacon
request goes through what a real one goes through after HTTP: ``parse_payload``
then ``ingest.process`` (identify, event, ledger, decisions, person and score rows)
inside ``Store.write`` units of many requests.  So the bytes counted are exactly the
rows the server writes, only without the HTTP round trips.  ``synchronous=NORMAL``
only skips fsyncs: the database file is the same.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson

from tracker.app import DEMO_PROGRAMME
from tracker.domain.devices import device_of
from tracker.services.ingest import process
from tracker.services.runtime import new_visitor_id
from tracker.services.sites import compile_site, save_site
from tracker.store import Queries, open_store
from tracker.web.validation import parse_payload

from .traffic import SITE, USER_AGENT, Journeys, beacon_body

GOAL_BYTES_PER_EVENT = 250  # issue #13
_REQUESTS_PER_UNIT = 1000
# The synthetic month: events are spread over 30 days so sessions and decay happen.
_SPAN = 30 * 86400.0
# About 1.5 visits of 3 pages, 1.4 events a page plus impressions and closes: to pace
# new visitors so ``target`` events span about 30 days.
_EVENTS_PER_VISITOR = 7.0
# Bytes per event are sampled along the way, to show whether they still grow with size.
_CURVE_STEP = 100_000


async def _generate(path: Path, target: int, budget: float) -> dict[str, Any]:
    store = open_store(f"sqlite:///{path}", sqlite_synchronous="NORMAL")
    await store.open()
    start = time.time() - _SPAN
    record = await save_site(
        store, SITE, name=SITE, origins=None, programme=DEMO_PROGRAMME.read_text("utf-8"), now=start
    )
    site = compile_site(record)
    device = device_of(USER_AGENT)
    stream = Journeys(seed=7, start=start, arrival=_SPAN / (target / _EVENTS_PER_VISITOR))
    visitor_ids: dict[int, str] = {}
    counts = {"events": 0, "requests": 0}
    clock = [start]

    async def unit(q: Queries) -> None:
        for _ in range(_REQUESTS_PER_UNIT):
            now, visitor, hits = next(stream)
            clock[0] = now
            payload = parse_payload(orjson.loads(beacon_body(None, hits, int(now * 1000))), now)
            outcome = await process(q, site, visitor_ids.get(visitor), payload.events, device, now, new_visitor_id)
            visitor_ids[visitor] = outcome.visitor_id
            page = next((hit.url for hit in hits if hit.type == "page"), None)
            if page is not None:  # the beacon ignores what answers its own reports: already shown
                stream.shown(
                    now, visitor, page, ((d.campaign, d.kind, str(d.trigger.get("on"))) for d in outcome.decisions)
                )
            counts["events"] += len(payload.events)
            counts["requests"] += 1

    curve: list[tuple[int, float]] = []
    began = time.perf_counter()
    deadline = began + budget
    try:
        while counts["events"] < target and time.perf_counter() < deadline:
            await store.write(unit)
            if counts["events"] >= (len(curve) + 1) * _CURVE_STEP:
                # Pages as this connection sees them, WAL included: the size the file will have.
                size = await store.read(_database_bytes)
                curve.append((counts["events"], round(size / counts["events"], 1)))
    finally:
        await store.close()
    elapsed = time.perf_counter() - began
    return {
        **counts,
        "visitors": len(visitor_ids),
        "days_simulated": round((clock[0] - start) / 86400, 1),
        "seconds": round(elapsed, 1),
        "events_per_s": round(counts["events"] / elapsed),
        "bytes_per_event_curve": curve,
    }


async def _database_bytes(q: Queries) -> int:
    return int(await q.conn.fetchval("PRAGMA page_count")) * int(await q.conn.fetchval("PRAGMA page_size"))


def measure_storage(work: Path, target: int, budget: float) -> dict[str, Any]:
    """Write about ``target`` events (or as many as ``budget`` seconds allow) and weigh the file."""
    path = work / "storage" / "tracker.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    written = asyncio.run(_generate(path, target, budget))
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        events = int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        tables = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
        page = int(db.execute("PRAGMA page_size").fetchone()[0])
        free = int(db.execute("PRAGMA freelist_count").fetchone()[0]) * page
    finally:
        db.close()
    size = path.stat().st_size
    wal = Path(f"{path}-wal")
    per_event = size / events
    top = sorted(tables.items(), key=lambda item: -item[1])[:8]
    return {
        **written,
        "target_events": target,
        "events": events,
        "reached_target": events >= target,
        "file_bytes": size,
        "wal_bytes_after_checkpoint": wal.stat().st_size if wal.exists() else 0,
        "free_bytes": free,
        "bytes_per_event": round(per_event, 1),
        "extrapolated_bytes_at_target": None if events >= target else round(per_event * target),
        "bytes_per_event_by_object": {name: round(b / events, 1) for name, b in top},
        "goal_bytes_per_event": GOAL_BYTES_PER_EVENT,
    }
