"""``python -m bench``: issue #13's honest benchmark, floor and tracker alternated case by case.

Order: two floors are started (one uvicorn worker, and two), then tracker on SQLite
(returning visitors, new visitors, ``/v1/batch``), on SQLite with ``--workers 2`` (mixed, ``/v1/batch``),
on PostgreSQL, and as two instances sharing one PostgreSQL; then the in-process
cases (storage per event, replay speed).  HTTP cases run one at a time so nothing
else competes for the cores; an idle floor costs nothing meanwhile.  Results are
printed as tables, the issue's goals with ✓/✗, and written to ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from .cases import Case, Config, Traffic, batch_case, collect_case, traffic
from .load import Unavailable, wrk_binary
from .machine import describe
from .replay import measure_replay
from .report import (
    BATCH,
    MIXED,
    NEW,
    REPLAY,
    RETURNING,
    STORAGE,
    WHAT_IF,
    WORKERS,
    goals,
    print_machine,
    print_results,
)
from .servers import Server, create_ingest_key, floor_argv, free_port, pg_database, running, start, tracker_argv
from .storage import measure_storage
from .traffic import SITE
from .what_if import measure_what_if

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
TWO = " ×2 instances"
# Whether a second SQLite worker adds throughput to Segment's batches (on 2 cores it does not: README).
WORKERS_SUFFIX = ", --workers 2"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds per run (8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds before each run (2)")
    parser.add_argument("--rounds", type=int, default=3, help="floor/tracker alternations per case (3, at least 3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (32)")
    parser.add_argument(
        "--visitors", type=int, default=1000, help="returning visitors primed per server (1000; keep above req/s ÷ 20)"
    )
    parser.add_argument("--storage-events", type=int, default=1_000_000, help="events for bytes/event (1M)")
    parser.add_argument("--storage-budget", type=float, default=90.0, help="max seconds writing them (90)")
    parser.add_argument("--replay-seconds", type=float, default=4.0, help="seconds of replay timing (4)")
    parser.add_argument(
        "--what-if-people", type=int, default=5000, help="simulated people for the what-if case (5000, 90 days)"
    )
    parser.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL cases")
    parser.add_argument("--write-key", default=None, help="Segment write key (default: a fresh ingest key per server)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 s runs without warm-up, 400 visitors, 20k storage events"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directories")
    args = parser.parse_args(argv)
    if args.quick:
        # 400 visitors: one visitor's requests stay > 50 ms apart up to 8,000 req/s (the abuse guard's pace).
        args.duration, args.warmup, args.visitors = 1.0, 0.0, 400
        args.storage_events, args.storage_budget, args.replay_seconds = 20_000, 20.0, 1.0
        args.what_if_people = 500
    # Fewer than three rounds leaves the median at the mercy of one noisy run.
    args.rounds = max(3, args.rounds)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    if not console.is_terminal:
        console = Console(width=240)  # a log file or pipe: keep the table on one line per row
    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="tracker-bench-"))
    config = Config(args.warmup, args.duration, args.connections, args.visitors, work, args.rounds, args.write_key)
    machine = describe(work)
    print_machine(console, machine)
    cases: list[Case] = []
    logs = RESULTS / "logs"
    shutil.rmtree(logs, ignore_errors=True)  # this run's server logs only
    try:
        cases += http_cases(config, console, logs, skip_pg=args.no_pg)
        cases.append(
            _in_process(
                console, STORAGE, "sqlite", lambda: measure_storage(work, args.storage_events, args.storage_budget)
            )
        )
        cases.append(_in_process(console, REPLAY, "-", lambda: measure_replay(args.replay_seconds)))
        cases.append(
            _in_process(
                console, WHAT_IF, "sqlite", lambda: measure_what_if(work, args.what_if_people, args.replay_seconds)
            )
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - began
    print_results(console, cases, config, elapsed)
    report = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(time.time() - elapsed)),
        "elapsed_s": round(elapsed, 1),
        "machine": machine,
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "cases": [case.to_json() for case in cases],
        "goals": [{"goal": g.goal, "measured": g.measured, "met": g.met} for g in goals(cases)],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"results written to {args.output}")
    return 0 if all(case.status != "failed" for case in cases) else 1


# -- HTTP cases ------------------------------------------------------------------------------


def http_cases(config: Config, console: Console, logs: Path, *, skip_pg: bool) -> list[Case]:
    try:
        wrk_binary()
    except Unavailable as exc:
        return [Case("HTTP cases", "-", "n/a", str(exc))]
    # Every request comes from 127.0.0.1: a per-address limit would measure the limiter.
    env = {"TRACKER_SECRET": secrets.token_urlsafe(32), "TRACKER_IP_LIMIT": "off"}
    floors: list[Server] = []
    try:
        for workers in (1, 2):
            port = free_port()
            floors.append(start(f"floor-{workers}w", floor_argv(port, workers), logs, {}, port))
    except Unavailable as exc:
        for floor in floors:
            floor.stop()
        return [Case("floor", "none", "n/a", str(exc))]
    one, two = floors
    cases: list[Case] = []
    with running(floors):
        run = _Runner(console, config, logs, env)
        cases += run.backend("sqlite", None, one, [(RETURNING, "returning"), (NEW, "new")], BATCH)
        cases += run.backend("sqlite", None, two, [(WORKERS, "mixed")], BATCH + WORKERS_SUFFIX, workers=2)
        if skip_pg:
            names = [MIXED, BATCH, MIXED + TWO, BATCH + TWO]
            cases += [Case(name, "postgresql", "n/a", "--no-pg") for name in names]
        else:
            cases += run.on_postgresql(one, [(MIXED, "mixed")], BATCH, instances=1)
            cases += run.on_postgresql(two, [(MIXED + TWO, "mixed")], BATCH + TWO, instances=2)
    return cases


class _Runner:
    def __init__(self, console: Console, config: Config, logs: Path, env: dict[str, str]) -> None:
        self.console, self.config, self.logs, self.env = console, config, logs, env

    def on_postgresql(
        self, floor: Server, collects: list[tuple[str, str]], batch: str, *, instances: int
    ) -> list[Case]:
        try:
            with pg_database(f"tracker_bench_{os.getpid()}_{instances}") as url:
                return self.backend("postgresql", url, floor, collects, batch, instances=instances)
        except Unavailable as exc:  # backend() reports its own; this is the database set-up
            return [Case(n, "postgresql", "n/a", str(exc)) for n in [*(c for c, _ in collects), batch]]

    def backend(
        self,
        backend: str,
        db: str | None,
        floor: Server,
        collects: list[tuple[str, str]],
        batch: str | None,
        *,
        instances: int = 1,
        workers: int = 1,
    ) -> list[Case]:
        """Start tracker, prime visitors, run each /collect case against ``floor``, then /v1/batch."""
        names = [name for name, _ in collects] + ([batch] if batch else [])
        label = f"{instances} instance(s), {workers} worker(s) each"
        self.console.log(f"[bold]tracker on {backend}[/] ({label}) against a {floor.workers()}-worker floor")
        data_dir = self.config.work / f"data-{backend}-{instances}-{workers}"
        servers: list[Server] = []
        try:
            for index in range(instances):
                port = free_port()
                # One at a time: each start saves the demo site, and the first creates the schema.
                argv = tracker_argv(port, data_dir, db, workers)
                server = start(f"tracker-{backend}-{instances}-{workers}-{index}", argv, self.logs, self.env, port)
                server.database = db.rsplit("/", 1)[-1] if db else None
                servers.append(server)
        except Unavailable as exc:
            for server in servers:
                server.stop()
            self.console.log(f"  not available: {exc}")
            return [Case(n, backend, "n/a", str(exc)) for n in names]
        cases: list[Case] = []
        with running(servers):
            try:
                loads: Traffic | Exception = traffic(servers[0].port, instances, self.config.visitors)
            except Exception as exc:  # priming failed: every /collect case of this server says why
                loads = exc
            for name, kind in collects:
                if isinstance(loads, Exception):
                    cases.append(Case(name, backend, "failed", f"{type(loads).__name__}: {loads}"))
                else:
                    cases.append(self._collect(name, backend, servers, floor, getattr(loads, kind)))
                self._log(cases[-1])
            if batch:
                make_key = lambda: create_ingest_key(data_dir, db, SITE)  # noqa: E731
                cases.append(
                    _guarded(batch, backend, lambda: batch_case(batch, backend, servers, self.config, make_key))
                )
                self._log(cases[-1])
        return cases

    def _collect(
        self, name: str, backend: str, servers: list[Server], floor: Server, bodies: list[list[bytes]]
    ) -> Case:
        return _guarded(name, backend, lambda: collect_case(name, backend, servers, floor, bodies, self.config))

    def _log(self, case: Case) -> None:
        if case.status != "ok":
            self.console.log(f"  {case.name}: {case.status}: {case.reason}")
            return
        m = case.metrics
        t = m["tracker"]
        line = f"  {case.name}: {t['rps']:,.0f} req/s, p99 {t['latency_ms']['p99']:.1f} ms"
        if "ratio" in m:
            line += f", {m['ratio']['rps']:.2f}× floor req/s, {m['ratio']['per_cpu']:.2f}× per CPU-second"
            ol = m["open_loop"]
            line += f"; open-loop p99 {ol['latency_ms'].get('p99', 0):.1f} ms @ {ol['offered_rps']:,.0f} req/s"
        if "events_per_s" in m:
            line += f", {m['events_per_s']:,.0f} events/s"
        self.console.log(line)


def _guarded(name: str, backend: str, run: Callable[[], Case]) -> Case:
    """Run one case; an unexpected error fails that case only, and the suite goes on."""
    try:
        return run()
    except Exception as exc:  # the report must still be written, with the reason
        return Case(name, backend, "failed", f"{type(exc).__name__}: {exc}")


def _in_process(console: Console, name: str, backend: str, run: Callable[[], dict[str, Any]]) -> Case:
    console.log(f"[bold]{name}[/] (in-process)")
    started = time.monotonic()
    case = _guarded(name, backend, lambda: Case(name, backend, metrics=run()))
    console.log(f"  {case.status} in {time.monotonic() - started:.0f} s")
    return case
