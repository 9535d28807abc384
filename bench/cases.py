"""The HTTP cases: ``/collect`` alternated with the floor, and Segment ``/v1/batch``.

Every case is one ``Case`` row: "ok" with its metrics, "n/a" when what it measures
does not exist yet (the reason says why), or "failed" when it exists but misbehaves.
A ``/collect`` case runs ``rounds`` times floor-then-tracker on the same bodies and
keeps the median of the per-round ratios: a single floor measured once drifts with
the machine (thermal state, other load) and the ratio with it.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .load import Load, LoadResult, Reply, Unavailable, post, post_all, run_wrk
from .openloop import open_loop, raw_request
from .servers import Server, cpu_delta, machine_cpu_seconds, postgres_cpu
from .stats import cpu_us_per_request, round_ratios, summarize_rounds
from .traffic import BEACON_HEADERS, SEGMENT_PATH, SEQ, beacon_body, segment_batch_body, segment_headers
from .visitors import Visitor, events_per_request, mixed, new_visitor_bodies, returning, returning_bodies

COLLECT = "/collect"
BATCH_SIZE = 100
# A stored (not ignored) request answers with the visitor's token.
STORED = '"vid":"'
# The open-loop run offers this share of the saturated rate (issue #13: half the maximum).
OPEN_LOOP_SHARE = 0.5
# Priming: a visitor's two requests at least this far apart (the abuse guard's 50 ms, with margin).
_PRIME_GAP = 0.06
_BATCH_TEMPLATES = 32
_BATCH_MIN_SECONDS = 5.0
# 8 requests of 100 events in flight saturate the server; 32 would queue each for seconds
# (past wrk's timeout on PostgreSQL) without adding throughput.
_BATCH_CONNECTIONS = 8
# Metrics of a measured run that are summarised by their median over the rounds.
_MEDIAN_KEYS: tuple[str, ...] = (
    "rps",
    "server_us_per_req",
    "database_us_per_req",
    "server_cpu_pct",
    "database_cpu_pct",
    "loadgen_cpu_pct",
    "other_cpu_pct",
    "rss_mib",
    "hwm_mib",
)


@dataclass(frozen=True, slots=True)
class Config:
    warmup: float
    duration: float
    connections: int
    visitors: int
    work: Path
    rounds: int = 3
    write_key: str | None = None  # None: create an ingest key on each server under test


@dataclass(slots=True)
class Case:
    name: str
    backend: str
    status: str = "ok"  # ok | n/a | failed
    reason: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "backend": self.backend,
            "status": self.status,
            "reason": self.reason,
            "metrics": self.metrics,
        }


def measure(
    servers: list[Server], load: Load, config: Config, offsets: Sequence[int] = (), connections: int = 0
) -> tuple[dict[str, Any], list[int]]:
    """Warm up, then measure for ``config.duration``; also returns where the bodies' rotation stopped."""
    connections = connections or config.connections
    if config.warmup > 0:  # --quick skips it: a smoke run proves the harness, not the numbers
        offsets = run_wrk(load, config.work, connections=connections, seconds=config.warmup, offsets=offsets).sent
    before = _cpu(servers)
    result = run_wrk(load, config.work, connections=connections, seconds=config.duration, offsets=offsets)
    after = _cpu(servers)
    server, machine = after[0] - before[0], after[2] - before[2]
    database = cpu_delta(before[1], after[1])
    other = machine - server - database - result.loadgen_cpu_seconds
    memory = [s.memory_kib() for s in servers]
    return {
        **_load_metrics(result),
        "server_us_per_req": round(cpu_us_per_request(server, result.requests), 1),
        "database_us_per_req": round(cpu_us_per_request(database, result.requests), 1),
        # 100% is one core: on 2 cores the machine is saturated at 200%.
        "server_cpu_pct": round(100 * server / result.seconds, 1),
        "database_cpu_pct": round(100 * database / result.seconds, 1),
        # Anything else running on the machine meanwhile: a high value means noisy numbers.
        "other_cpu_pct": round(100 * max(0.0, other) / result.seconds, 1),
        "rss_mib": round(sum(m.get("VmRSS", 0) for m in memory) / 1024, 1),
        "hwm_mib": round(sum(m.get("VmHWM", 0) for m in memory) / 1024, 1),
        "processes": sum(len(s.pids()) for s in servers),
    }, result.sent


def _cpu(servers: list[Server]) -> tuple[float, dict[int, float], float]:
    """CPU seconds so far of the servers, of PostgreSQL (per process), and of the whole machine."""
    return sum(s.cpu_seconds() for s in servers), postgres_cpu(servers[0].database), machine_cpu_seconds()


def _load_metrics(result: LoadResult) -> dict[str, Any]:
    return {
        "requests": result.requests,
        "seconds": round(result.seconds, 2),
        "rps": round(result.rps, 1),
        "latency_ms": {k: round(v, 2) for k, v in result.latency_ms.items()},
        "errors": result.errors,
        "checked": result.checked,
        "matched": result.matched,
        "first_unexpected": result.unexpected,
        "loadgen_cpu_pct": round(100 * result.loadgen_cpu_seconds / result.seconds, 1),
    }


def _medians(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {key: round(statistics.median(r[key] for r in runs), 1) for key in _MEDIAN_KEYS}
    found["latency_ms"] = {
        key: round(statistics.median(r["latency_ms"][key] for r in runs), 2) for key in ("p50", "p99")
    }
    found["requests"] = sum(r["requests"] for r in runs)
    found["processes"] = max(r["processes"] for r in runs)
    return found


# -- /collect ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Traffic:
    """Bodies of the three /collect loads, each split into one list per port."""

    returning: list[list[bytes]]
    new: list[list[bytes]]
    mixed: list[list[bytes]]


def prime(port: int, visitors: list[Visitor]) -> list[str]:
    """Send every visitor's past requests, step by step, back-dated to when they happened (days ago)."""
    tokens: list[str | None] = [None] * len(visitors)
    sent_at = int(time.time() * 1000)
    for step in range(max(len(v.history) for v in visitors)):
        due = [i for i, v in enumerate(visitors) if step < len(v.history)]
        bodies = [
            beacon_body(tokens[i], visitors[i].history[step], sent_at, sent_at - int(1000 * visitors[i].ago[step]))
            for i in due
        ]
        replies = asyncio.run(post_all(port, COLLECT, BEACON_HEADERS, bodies))
        for index, reply in zip(due, replies, strict=True):
            vid = reply.json().get("vid") if reply.status == 200 else None
            if not vid:
                raise RuntimeError(f"priming visitors: HTTP {reply.status} {reply.body[:200]!r}")
            tokens[index] = str(vid)
        # A visitor last in this step may be first in the next: the pause is what separates them.
        time.sleep(_PRIME_GAP)
    return [str(t) for t in tokens]


def traffic(port: int, ports: int, visitors: int) -> Traffic:
    """Prime ``visitors`` returning visitors through ``port`` and build every load's bodies."""
    people = returning(visitors)
    tokens = prime(port, people)
    sent_at = int(time.time() * 1000)
    fresh = new_visitor_bodies(max(200, visitors), sent_at)
    # Each port (instance) gets its own visitors: a visitor stays on one instance, as behind sticky routing.
    back = [returning_bodies(people[i::ports], tokens[i::ports], sent_at) for i in range(ports)]
    first = [fresh[i::ports] for i in range(ports)]
    return Traffic(back, first, [mixed(b, n) for b, n in zip(back, first, strict=True)])


def collect_case(
    name: str, backend: str, servers: list[Server], floor: Server, bodies: list[list[bytes]], config: Config
) -> Case:
    """Floor then tracker, ``config.rounds`` times, then tracker open-loop at half its maximum."""
    workers = {"floor_workers": floor.workers(), "workers": sum(s.workers() for s in servers)}
    case = Case(name, backend, metrics={"path": COLLECT, **workers})
    load = Load([s.port for s in servers], COLLECT, BEACON_HEADERS, bodies, STORED)
    sample = post(servers[0].port, COLLECT, BEACON_HEADERS, bodies[0][-1])
    if sample.status != 200 or STORED.encode() not in sample.body:
        return _failed(case, f"sample response HTTP {sample.status}: {sample.body[:300]!r}")
    # The floor gets the very bytes tracker gets, on as many wrk threads (one per instance).
    floor_load = replace(load, ports=[floor.port] * len(servers), expect="")
    rounds: list[dict[str, Any]] = []
    floor_at: list[int] = []
    tracker_at: list[int] = []
    for _ in range(config.rounds):
        floor_run, floor_at = measure([floor], floor_load, config, floor_at)
        tracker_run, tracker_at = measure(servers, load, config, tracker_at)
        ratio = round_ratios(floor_run, tracker_run, with_database=backend == "postgresql")
        rounds.append({"floor": floor_run, "tracker": tracker_run, "ratio": ratio})
    tracker = _medians([r["tracker"] for r in rounds])
    case.metrics.update(
        tracker=tracker,
        floor=_medians([r["floor"] for r in rounds]),
        ratio=summarize_rounds([r["ratio"] for r in rounds]),
        rounds=rounds,
        events_per_request=round(events_per_request([b for part in bodies for b in part]), 2),
    )
    case.metrics["open_loop"] = _open_loop(servers, load, tracker["rps"] * OPEN_LOOP_SHARE, tracker_at, config)
    # The floor's runs too: a floor answering errors would make every ratio meaningless.
    _check(case, [r[side] for r in rounds for side in ("tracker", "floor")])
    return case


def _open_loop(servers: list[Server], load: Load, rate: float, at: list[int], config: Config) -> dict[str, Any]:
    """Offer ``rate`` req/s, continuing each port's rotation where wrk stopped."""
    count = int(rate * config.duration / len(servers)) + 1
    run = f"ol{time.monotonic_ns() % 10**9}n"
    targets = []
    for port, bodies, start in zip(load.ports, load.bodies, at or [0] * len(servers), strict=True):
        chosen = (bodies[(start + i) % len(bodies)] for i in range(count))
        raws = [
            raw_request(COLLECT, load.headers, b.replace(SEQ.encode(), f"{run}{i}".encode()))
            for i, b in enumerate(chosen)
        ]
        targets.append((port, raws))
    before = _cpu(servers)
    result = open_loop(targets, rate, config.duration, config.connections)
    after = _cpu(servers)
    result["server_us_per_req"] = round(cpu_us_per_request(after[0] - before[0], result["requests"]), 1)
    database = cpu_delta(before[1], after[1])
    result["database_us_per_req"] = round(cpu_us_per_request(database, result["requests"]), 1)
    return result


def _check(case: Case, runs: Sequence[dict[str, Any]]) -> None:
    """Load errors, or responses that were not stored, fail the case."""
    errors = {k: sum(r["errors"][k] for r in runs) for k in runs[0]["errors"]}
    if not all(r["requests"] for r in runs):
        case.status, case.reason = "failed", "a measured run completed no request"
        return
    checked, matched = sum(r["checked"] for r in runs), sum(r["matched"] for r in runs)
    if sum(errors.values()):
        case.status, case.reason = "failed", f"load errors: {errors}"
    elif matched != checked:
        share = 100 * matched / max(1, checked)
        first = next(r["first_unexpected"] for r in runs if r["first_unexpected"])
        case.status, case.reason = "failed", f"{share:.2f}% of responses stored; first other: {first[:200]}"
    elif "open_loop" in case.metrics:
        loop = case.metrics["open_loop"]
        other = {k: v for k, v in loop["statuses"].items() if k != "200"}
        if loop["errors"] or other:
            case.status, case.reason = "failed", f"open-loop: {loop['errors']} errors, statuses {other}"


# -- /v1/batch --------------------------------------------------------------------------------


def batch_load(ports: list[int], write_key: str, config: Config, expect: str = "") -> Load:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    bodies = [
        [
            segment_batch_body(write_key, t * _BATCH_TEMPLATES + i, BATCH_SIZE, config.visitors, stamp)
            for i in range(_BATCH_TEMPLATES)
        ]
        for t in range(len(ports))
    ]
    return Load(ports, SEGMENT_PATH, segment_headers(write_key), bodies, expect)


def _probe_batch(server: Server, write_key: str, config: Config) -> Reply:
    body = segment_batch_body(write_key, 0, BATCH_SIZE, config.visitors, time.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return post(server.port, SEGMENT_PATH, segment_headers(write_key), body.replace(SEQ.encode(), b"probe"))


def batch_case(name: str, backend: str, servers: list[Server], config: Config, make_key: Callable[[], str]) -> Case:
    """Segment batches of 100 events, measured once (its goal is absolute); "n/a" without the route."""
    reply = _probe_batch(servers[0], "probe", config)
    if reply.status in (404, 405):
        return Case(name, backend, "n/a", f"POST {SEGMENT_PATH} answers {reply.status}: the route does not exist yet")
    try:
        write_key = config.write_key or make_key()
    except Unavailable as exc:
        return Case(name, backend, "n/a", str(exc))
    reply = _probe_batch(servers[0], write_key, config)
    # Each response must say every event was taken: not refused, not a duplicate.
    accepted = f'"accepted":{BATCH_SIZE}'
    if reply.status != 200 or accepted.encode() not in reply.body:
        return _failed(Case(name, backend), f"probe: HTTP {reply.status} without {accepted}: {reply.body[:300]!r}")
    case = Case(name, backend, metrics={"path": SEGMENT_PATH, "events_per_request": BATCH_SIZE})
    # A 100-event request takes up to seconds today: a short run would count almost none.
    timed = replace(config, duration=max(config.duration, _BATCH_MIN_SECONDS))
    load = batch_load([s.port for s in servers], write_key, config, accepted)
    run, _ = measure(servers, load, timed, connections=min(config.connections, _BATCH_CONNECTIONS))
    case.metrics["tracker"] = run
    case.metrics["events_per_s"] = round(run["rps"] * BATCH_SIZE, 1)
    _check(case, [run])
    return case


def _failed(case: Case, reason: str) -> Case:
    case.status, case.reason = "failed", reason
    return case
