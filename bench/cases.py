"""The HTTP cases: the floor, ``/collect`` and Segment ``/v1/batch`` on each backend.

Every case is one ``Case`` row: "ok" with its metrics, "n/a" when what it measures
does not exist yet (the reason says why), or "failed" when it exists but misbehaves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.domain.identity import VisitorTokens
from tracker.services.runtime import new_visitor_id

from .load import Load, LoadResult, Reply, Unavailable, post, post_all, run_wrk
from .servers import Server, cpu_seconds_of, machine_cpu_seconds
from .traffic import (
    BEACON_HEADERS,
    BROWSING,
    EXPECTED_DECISION,
    SEGMENT_PATH,
    SEQ,
    SITE,
    browsing_bodies,
    primer_body,
    segment_batch_body,
    segment_headers,
)

COLLECT = "/collect"
BATCH_SIZE = 100
# Goals stated by issue #7.
COLLECT_MIN_RATIO = 0.6
COLLECT_MAX_P99_MS = 25.0
_BATCH_TEMPLATES = 32


@dataclass(frozen=True, slots=True)
class Config:
    warmup: float
    duration: float
    connections: int
    visitors: int
    work: Path
    write_key: str | None = None  # None: create an ingest key on each server under test


@dataclass(slots=True)
class Case:
    name: str
    backend: str
    status: str = "ok"  # ok | n/a | failed
    reason: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    goals: dict[str, bool] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "backend": self.backend,
            "status": self.status,
            "reason": self.reason,
            "metrics": self.metrics,
            "goals": self.goals,
        }


def measure(servers: list[Server], load: Load, config: Config) -> dict[str, Any]:
    """Warm up, then measure for ``config.duration``: throughput, latency, CPU and memory."""
    warm = run_wrk(load, config.work, connections=config.connections, seconds=config.warmup)
    before = _cpu(servers)
    result = run_wrk(load, config.work, connections=config.connections, seconds=config.duration, offsets=warm.sent)
    server, database, machine = (b - a for a, b in zip(before, _cpu(servers), strict=True))
    other = machine - server - database - result.loadgen_cpu_seconds
    memory = [s.memory_kib() for s in servers]
    return {
        **_load_metrics(result),
        # 100% is one core: on 2 cores the machine is saturated at 200%.
        "server_cpu_pct": round(100 * server / result.seconds, 1),
        "database_cpu_pct": round(100 * database / result.seconds, 1),
        # Anything else running on the machine meanwhile: a high value means noisy numbers.
        "other_cpu_pct": round(100 * max(0.0, other) / result.seconds, 1),
        "rss_mib": round(sum(m.get("VmRSS", 0) for m in memory) / 1024, 1),
        "hwm_mib": round(sum(m.get("VmHWM", 0) for m in memory) / 1024, 1),
        "instances": len(servers),
    }


def _cpu(servers: list[Server]) -> tuple[float, float, float]:
    """CPU seconds so far of the servers, of PostgreSQL, and of the whole machine."""
    return sum(s.cpu_seconds() for s in servers), cpu_seconds_of("postgres"), machine_cpu_seconds()


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


def judge(case: Case, floor_rps: float | None) -> None:
    """Ratio to the floor, the issue's goals for /collect, and load errors as a failure."""
    if case.status != "ok":
        return
    # The goals are tracker's; a floor only has to run without errors.
    is_collect = case.metrics.get("path") == COLLECT and case.backend != "none"
    if floor_rps:
        ratio = case.metrics["rps"] / floor_rps
        case.metrics["ratio_to_floor"] = round(ratio, 3)
        if is_collect:
            case.goals[f">= {COLLECT_MIN_RATIO:g}x floor"] = ratio >= COLLECT_MIN_RATIO
    if is_collect:
        case.goals[f"p99 <= {COLLECT_MAX_P99_MS:g} ms"] = case.metrics["latency_ms"]["p99"] <= COLLECT_MAX_P99_MS
    errors = case.metrics["errors"]
    if sum(errors.values()):
        case.status, case.reason = "failed", f"load errors: {errors}"
    elif case.metrics["matched"] != case.metrics["checked"]:
        share = 100 * case.metrics["matched"] / case.metrics["checked"]
        case.status = "failed"
        case.reason = f"{share:.2f}% of responses as expected; first other: {case.metrics['first_unexpected'][:200]}"


def floor_tokens(count: int) -> list[str]:
    """Tokens shaped exactly like tracker's, so floor and tracker receive the same bytes."""
    tokens = VisitorTokens("floor")
    return [tokens.sign(SITE, new_visitor_id()) for _ in range(count)]


def floor_case(name: str, floor: Server, load: Load, config: Config) -> Case:
    return Case(name, "none", metrics={"path": load.path, **measure([floor], load, config)})


def beacon_load(ports: list[int], tokens: list[str], expect: str) -> Load:
    """Browsing bodies for ``tokens``, each wrk thread (one per port) with its own visitors."""
    sent_at = int(time.time() * 1000)
    share = [tokens[i :: len(ports)] for i in range(len(ports))]
    return Load(ports, COLLECT, BEACON_HEADERS, [browsing_bodies(s, sent_at) for s in share], expect)


def collect_case(name: str, backend: str, servers: list[Server], config: Config) -> Case:
    """Prime visitors (white paper C: +12), then browse pages that each answer a decision."""
    case = Case(name, backend)
    port = servers[0].port
    primed = asyncio.run(
        post_all(port, COLLECT, BEACON_HEADERS, [primer_body(int(time.time() * 1000))] * config.visitors)
    )
    tokens = [str(r.json()["vid"]) for r in primed if r.status == 200]
    if len(tokens) < config.visitors:
        bad = next(r for r in primed if r.status != 200)
        return _failed(case, f"priming visitors: HTTP {bad.status} {bad.body[:200]!r}")
    load = beacon_load([s.port for s in servers], tokens, EXPECTED_DECISION)
    # The last body of the rotation: its visitor's next page view comes a whole visitor round later.
    sample = post(servers[0].port, COLLECT, BEACON_HEADERS, load.bodies[0][-1])
    decisions = [f"{d['campaign']} ({d['kind']})" for d in sample.json().get("decisions", [])]
    case.metrics["sample_decisions"] = decisions
    if sample.status != 200 or not any(d.startswith(EXPECTED_DECISION + " ") for d in decisions):
        return _failed(case, f"sample response HTTP {sample.status} without {EXPECTED_DECISION}: {sample.body[:300]!r}")
    case.metrics.update(path=COLLECT, visitors=len(tokens), **measure(servers, load, config))
    case.metrics["decided_pct"] = round(100 * case.metrics["matched"] / max(1, case.metrics["checked"]), 2)
    case.metrics["events_per_request"] = sum(len(hits) for hits in BROWSING) / len(BROWSING)
    case.metrics["events_per_s"] = round(case.metrics["rps"] * case.metrics["events_per_request"], 1)
    return case


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
    """Segment batches of 100 events; "n/a" while the route does not exist."""
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
    case = Case(name, backend, metrics={"path": SEGMENT_PATH})
    case.metrics.update(measure(servers, batch_load([s.port for s in servers], write_key, config, accepted), config))
    case.metrics["events_per_request"] = BATCH_SIZE
    case.metrics["events_per_s"] = round(case.metrics["rps"] * BATCH_SIZE, 1)
    return case


def _failed(case: Case, reason: str) -> Case:
    case.status, case.reason = "failed", reason
    return case
