"""A large SQLite store for the console benchmark: ``people`` persons and ``events`` events, fast.

Going through ``ingest.process`` (as ``storage.py`` does) writes about 15k events a second:
5M would take six minutes.  Here the rows are generated directly and written with
``executemany`` through the Store's own connection, in units of 100k rows, after the
Store has created the schema with its migrations, so every table and index is the
shipped one.  The rows are shaped like the pipeline's (persons with their scoring JSON and
score copies, one or two devices each, events in time order, a ledger row for each
scoring event, stage entries, routing of every SQL), but their numbers are drawn, not
computed: the benchmark measures reading them.

One person, the "whale", is a SQL lead with exactly ``WHALE_EVENTS`` events on two devices:
the lead page case opens it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from tracker.app import DEMO_NAME, DEMO_PROGRAMME, DEMO_SITE
from tracker.domain.facts import ScoreState
from tracker.services.sites import save_site
from tracker.store import Queries, Store, open_store
from tracker.store.rows import seen_slot

SPAN = 30 * 86400.0
WHALE_EVENTS = 2000
UNIT_ROWS = 100_000
ORIGIN = "https://www.imprimantes-3d.example"
# (stage, share of people, engagement range)
STAGES = (("anonymous", 0.70, (0, 7)), ("known", 0.15, (0, 7)), ("mql", 0.08, (8, 11)), ("sql", 0.07, (12, 40)))
# (event type, url path, share of events, (rule id, score, points) when it scores)
EVENTS: tuple[tuple[str, str, float, tuple[str, str, float] | None], ...] = (
    ("page", "/demo/", 0.22, None),
    ("page", "/demo/blog/", 0.08, None),
    ("page", "/demo/produits/general/prisme-pro", 0.08, ("interest-general", "general", 3)),
    ("page", "/demo/produits/medical/medica-lab", 0.06, ("interest-medical", "medical", 3)),
    ("page", "/demo/blog/qualite/sav-sous-48-heures", 0.07, ("quality-blog", "engagement", 2)),
    ("page", "/demo/blog/qualite/certification-iso-13485", 0.05, ("quality-blog", "engagement", 2)),
    ("page", "/demo/tarifs", 0.04, ("pricing", "engagement", 5)),
    ("page", "/demo/emplois", 0.02, ("job-offers", "engagement", -15)),
    ("engaged", "/demo/blog/", 0.12, None),
    ("click", "/demo/produits/", 0.10, None),
    ("download", "/demo/files/livre-blanc-a.pdf", 0.03, ("wp-a", "engagement", 2)),
    ("download", "/demo/files/livre-blanc-b.pdf", 0.03, ("wp-b", "engagement", 5)),
    ("download", "/demo/files/livre-blanc-c.pdf", 0.02, ("wp-c", "engagement", 12)),
    ("form", "/demo/contact", 0.02, ("demo-request", "engagement", 30)),
    ("impression", "/demo/", 0.04, None),
    ("close", "/demo/", 0.02, None),
)
OWNERS = (("inside-sales", "chloe"), ("inside-sales", "david"), ("field-sales", "amelie"), ("medical", "lucie"))


def build(path: Path, people: int, events: int, seed: int = 7) -> dict[str, Any]:
    """Write the store at ``path``; what was written and how long it took."""
    return asyncio.run(_build(path, people, events, seed))


async def _build(path: Path, people: int, events: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    rng = random.Random(seed)
    now = time.time()
    store = open_store(f"sqlite:///{path}", sqlite_synchronous="NORMAL")
    await store.open()
    try:
        record = await save_site(
            store, DEMO_SITE, name=DEMO_NAME, origins=None, programme=DEMO_PROGRAMME.read_text("utf-8"), now=now
        )
        stages = [_stage(rng) for _ in range(people)]
        stages[0] = ("sql", 25.0)  # the whale
        last_seen = [now - SPAN] * (people + 1)
        counts = await _events(store, rng, people, events, now, last_seen)
        await _people(store, rng, record.id, stages, last_seen, now)
    finally:
        await store.close()
    seconds = time.perf_counter() - started
    return {"people": people, **counts, "seconds": round(seconds, 1), "rows_per_s": round(counts["events"] / seconds)}


def _stage(rng: random.Random) -> tuple[str, float]:
    pick = rng.random()
    for stage, share, (low, high) in STAGES:
        if pick < share:
            return stage, float(rng.randint(low, high))
        pick -= share
    return "anonymous", 0.0


async def _write(store: Store, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    async def unit(q: Queries) -> None:
        await q.conn.executemany(sql, rows)

    await store.write(unit)


def _event_stream(rng: random.Random, people: int, total: int, now: float) -> Iterator[tuple[int, float, int]]:
    """``(person_id, ts, kind index)`` in time order; person 1 gets exactly WHALE_EVENTS."""
    whale_every = max(1, total // WHALE_EVENTS)
    weights = [share for _, _, share, _ in EVENTS]
    kinds = rng.choices(range(len(EVENTS)), weights, k=min(total, 1_000_000))
    whale = 0
    for n in range(total):
        ts = now - SPAN + SPAN * n / total
        if n % whale_every == 0 and whale < WHALE_EVENTS:
            whale += 1
            yield 1, ts, kinds[n % len(kinds)]
        else:
            yield rng.randint(2, max(2, people)), ts, kinds[n % len(kinds)]


async def _events(
    store: Store, rng: random.Random, people: int, total: int, now: float, last_seen: list[float]
) -> dict[str, int]:
    # Events name their page by id (the urls table): each page once.
    url_ids = {path: n for n, path in enumerate(dict.fromkeys(path for _, path, _, _ in EVENTS), start=1)}
    await _write(store, "INSERT INTO urls (id, text) VALUES (?, ?)", [(n, ORIGIN + p) for p, n in url_ids.items()])
    # Ledger rows name their score, rule and op by id (the ledger_names table): each name once.
    texts = ["add", *(text for _, _, _, scores in EVENTS if scores is not None for text in scores[:2])]
    names = {text: n for n, text in enumerate(dict.fromkeys(texts), start=1)}
    await _write(store, "INSERT INTO ledger_names (id, text) VALUES (?, ?)", [(n, t) for t, n in names.items()])
    event_rows: list[tuple[Any, ...]] = []
    ledger_rows: list[tuple[Any, ...]] = []
    ledger = 0
    for event_id, (person, ts, kind) in enumerate(_event_stream(rng, people, total, now), start=1):
        type_, url, _, scores = EVENTS[kind]
        props = b'{"campaign":"sales-popup"}' if type_ in ("impression", "close") else b"{}"
        # Person n's device is numbered n; the whale's phone comes after everyone's device.
        visitor = person if person != 1 or event_id % 3 else people + 1
        event_rows.append(
            (event_id, person, visitor, ts, type_, url_ids[url], props.decode(), 1 + int(ts // 86400) % 9)
        )
        last_seen[person] = ts
        if scores is not None:
            rule, score, points = scores
            ledger_rows.append((person, names[score], names[rule], event_id, names["add"], points, 0.0, points, ts))
        if len(event_rows) >= UNIT_ROWS:
            await _flush(store, event_rows, ledger_rows)
            ledger += len(ledger_rows)
            event_rows, ledger_rows = [], []
    ledger += len(ledger_rows)
    await _flush(store, event_rows, ledger_rows)
    return {"events": total, "ledger": ledger}


async def _flush(store: Store, event_rows: list[tuple[Any, ...]], ledger_rows: list[tuple[Any, ...]]) -> None:
    await _write(
        store,
        "INSERT INTO events (id, person_id, visitor_num, ts, type, url_id, props, visit)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        event_rows,
    )
    await _write(
        store,
        "INSERT INTO ledger (person_id, score_ref, rule_ref, event_id, op_ref, points, before, after, ts)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ledger_rows,
    )


async def _people(
    store: Store, rng: random.Random, site_id: int, stages: list[tuple[str, float]], last_seen: list[float], now: float
) -> None:
    persons, scores, visitors, entries, routed = [], [], [], [], []
    for index, (stage, engagement) in enumerate(stages):
        person = index + 1
        seen = last_seen[person]
        created = seen - rng.uniform(0, SPAN / 2)
        email = f"lead{person}@company{person % 997}.example" if stage != "anonymous" else None
        reached = {"engagement": stage} if stage in ("mql", "sql") else {}
        scoring = ScoreState({"engagement": engagement}, {"engagement": seen}, reached=reached).to_json()
        profile = {"company": f"Company {person % 997}"} if email else {}
        identified = created if email else None
        json = orjson.dumps(profile).decode(), orjson.dumps(scoring).decode()
        persons.append((person, site_id, email, stage, *json, created, identified, seen, seen))
        scores.append((person, "engagement", engagement, seen))
        visitors.append((person, f"v{person}", site_id, person, "desktop", "chrome", created, seen, seen_slot(seen)))
        ranks = ("known", "mql", "sql")[: ("anonymous", "known", "mql", "sql").index(stage)]
        for offset, rank in enumerate(ranks):
            entries.append((person, rank, created + offset * (seen - created) / 3))
        if stage == "sql":
            queue, owner = OWNERS[person % len(OWNERS)]
            routed.append((site_id, person, queue, queue, owner, "route", "system", seen))
    phone = (len(persons) + 1, "v1-phone", site_id, 1, "mobile", "safari", now - SPAN, last_seen[1])
    visitors.append((*phone, seen_slot(last_seen[1])))
    for start in range(0, len(persons), UNIT_ROWS):
        await _write(
            store,
            "INSERT INTO persons (id, site_id, email, stage, profile, scoring, created_at, identified_at,"
            " last_seen_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            persons[start : start + UNIT_ROWS],
        )
    await _write(store, "INSERT INTO person_scores (person_id, score, value, changed_at) VALUES (?, ?, ?, ?)", scores)
    await _write(
        store,
        "INSERT INTO visitors (num, id, site_id, person_id, device, browser, created_at, last_seen_at, seen_slot)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        visitors,
    )
    await _write(store, "INSERT INTO stages (person_id, stage, ts) VALUES (?, ?, ?)", entries)
    await _write(
        store,
        "INSERT INTO assignments (site_id, person_id, route_id, queue, owner, reason, actor, ts)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        routed,
    )
