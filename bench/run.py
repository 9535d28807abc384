"""``python -m bench``: issue #7's benchmark suite, floor and tracker side by side in one run.

Order: the floor, tracker on SQLite, on PostgreSQL, on two instances sharing one
PostgreSQL, then the in-process cases (storage per event, replay speed).  HTTP
cases run one at a time so nothing else competes for the two cores.  Results are
printed as tables and written to ``bench/results/latest.json``.
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
from rich.table import Table

from .cases import (
    BATCH_SIZE,
    COLLECT,
    Case,
    Config,
    batch_case,
    batch_load,
    beacon_load,
    collect_case,
    floor_case,
    floor_tokens,
    judge,
)
from .load import Load, Unavailable, wrk_binary
from .machine import describe
from .replay import measure_replay
from .servers import Server, create_ingest_key, floor_argv, free_port, pg_database, running, start, tracker_argv
from .storage import GOAL_BYTES_PER_EVENT, measure_storage
from .traffic import SEGMENT_PATH, SITE

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
# Issue #7: the whole suite in under 5 minutes; the storage case gets what is left.
TOTAL_BUDGET = 290.0
# CPU (% of one core) used by unrelated processes during a case above which it is flagged.
NOISY_PCT = 15.0
STORAGE = "storage per event"
REPLAY = "replay (seed grid)"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per HTTP case (10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds before each HTTP case (3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (32)")
    parser.add_argument("--visitors", type=int, default=1000, help="simulated visitors per /collect case (1000)")
    parser.add_argument("--storage-events", type=int, default=1_000_000, help="events for bytes/event (1M)")
    parser.add_argument(
        "--storage-budget", type=float, default=None, help="max seconds writing them (default: what is left of 5 min)"
    )
    parser.add_argument("--replay-seconds", type=float, default=4.0, help="seconds of replay timing (4)")
    parser.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL cases")
    parser.add_argument("--write-key", default=None, help="Segment write key (default: a fresh ingest key per server)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s cases, 20k storage events")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directories")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.visitors = 2.0, 1.0, 200
        args.storage_events, args.replay_seconds = 20_000, 1.0
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # a log file or pipe: keep the table on one line per row
    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="tracker-bench-"))
    config = Config(args.warmup, args.duration, args.connections, args.visitors, work, args.write_key)
    machine = describe(work)
    _print_machine(console, machine)
    cases: list[Case] = []
    logs = RESULTS / "logs"
    shutil.rmtree(logs, ignore_errors=True)  # this run's server logs only
    try:
        cases += http_cases(config, console, logs, skip_pg=args.no_pg)
        # Replay takes about its timed seconds plus building histories; weighing the file, a few more.
        remaining = TOTAL_BUDGET - (time.monotonic() - began) - 2 * args.replay_seconds - 4
        budget = max(20.0, remaining if args.storage_budget is None else args.storage_budget)
        cases.append(
            _in_process(console, STORAGE, "sqlite", lambda: measure_storage(work, args.storage_events, budget))
        )
        cases.append(_in_process(console, REPLAY, "-", lambda: measure_replay(args.replay_seconds)))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - began
    _print_results(console, cases, config, elapsed)
    report = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(time.time() - elapsed)),
        "elapsed_s": round(elapsed, 1),
        "machine": machine,
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "cases": [case.to_json() for case in cases],
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
    floor_beacon = _floor(
        console, "floor (beacon body)", logs, config, lambda p: beacon_load([p], floor_tokens(config.visitors), "")
    )
    cases = [floor_beacon]
    cases += _backend(console, "sqlite", 1, None, config, logs, env)
    if skip_pg:
        cases += [Case(name, "postgresql", "n/a", "--no-pg") for name in _names(1) + _names(2)]
    else:
        cases += _on_postgresql(console, 1, config, logs, env)
        cases += _on_postgresql(console, 2, config, logs, env)
    floors = {COLLECT: floor_beacon.metrics.get("rps")}
    if any(c.status == "ok" and c.metrics.get("path") == SEGMENT_PATH for c in cases):
        floor_batch = _floor(
            console,
            f"floor (batch body, {BATCH_SIZE} events)",
            logs,
            config,
            lambda p: batch_load([p], config.write_key or "floor", config),
        )
        floors[SEGMENT_PATH] = floor_batch.metrics.get("rps")
        cases.insert(1, floor_batch)
    for case in cases:
        judge(case, floors.get(case.metrics.get("path", "")) if case.backend != "none" else None)
    return cases


def _names(instances: int) -> list[str]:
    suffix = f" x{instances} instances" if instances > 1 else ""
    return [f"{COLLECT}{suffix}", f"{SEGMENT_PATH} ({BATCH_SIZE} events){suffix}"]


def _floor(console: Console, name: str, logs: Path, config: Config, load: Callable[[int], Load]) -> Case:
    console.log(f"[bold]{name}[/]: starting bench/floor.py under uvicorn")
    port = free_port()
    try:
        floor = start(f"floor-{port}", floor_argv(port), logs, {}, port)
    except Unavailable as exc:
        return Case(name, "none", "n/a", str(exc))
    with running([floor]):
        case = _guarded(name, "none", lambda: floor_case(name, floor, load(port), config))
    _log_case(console, case)
    return case


def _guarded(name: str, backend: str, run: Callable[[], Case]) -> Case:
    """Run one case; an unexpected error fails that case only, and the suite goes on."""
    try:
        return run()
    except Exception as exc:  # the report must still be written, with the reason
        return Case(name, backend, "failed", f"{type(exc).__name__}: {exc}")


def _on_postgresql(console: Console, instances: int, config: Config, logs: Path, env: dict[str, str]) -> list[Case]:
    try:
        with pg_database(f"tracker_bench_{os.getpid()}_{instances}") as url:
            return _backend(console, "postgresql", instances, url, config, logs, env)
    except Unavailable as exc:  # _backend reports its own; this is the database set-up
        return [Case(n, "postgresql", "n/a", str(exc)) for n in _names(instances)]


def _backend(
    console: Console, backend: str, instances: int, db: str | None, config: Config, logs: Path, env: dict[str, str]
) -> list[Case]:
    collect_name, batch_name = _names(instances)
    console.log(f"[bold]tracker on {backend}[/] ({instances} instance{'s' if instances > 1 else ''})")
    data_dir = config.work / f"data-{backend}-{instances}"
    servers: list[Server] = []
    try:
        for index in range(instances):
            port = free_port()
            # One at a time: each start saves the demo site, and the first creates the schema.
            servers.append(
                start(f"tracker-{backend}-{instances}-{index}", tracker_argv(port, data_dir, db), logs, env, port)
            )
    except Unavailable as exc:
        for server in servers:
            server.stop()
        console.log(f"  not available: {exc}")
        return [Case(n, backend, "n/a", str(exc)) for n in (collect_name, batch_name)]
    with running(servers):
        collect = _guarded(collect_name, backend, lambda: collect_case(collect_name, backend, servers, config))
        _log_case(console, collect)
        batch = _guarded(
            batch_name,
            backend,
            lambda: batch_case(batch_name, backend, servers, config, lambda: create_ingest_key(data_dir, db, SITE)),
        )
        _log_case(console, batch)
    return [collect, batch]


def _log_case(console: Console, case: Case) -> None:
    if case.status != "ok":
        console.log(f"  {case.name}: {case.status}: {case.reason}")
        return
    m = case.metrics
    console.log(
        f"  {case.name}: {m['rps']:.0f} req/s, p50 {m['latency_ms']['p50']:.2f} ms, p99 {m['latency_ms']['p99']:.2f} ms"
    )
    if "sample_decisions" in m:
        console.log(f"  sample response decisions: {', '.join(m['sample_decisions'])}")


def _in_process(console: Console, name: str, backend: str, run: Callable[[], dict[str, Any]]) -> Case:
    console.log(f"[bold]{name}[/] (in-process)")
    started = time.monotonic()
    case = _guarded(name, backend, lambda: Case(name, backend, metrics=run()))
    console.log(f"  {case.status} in {time.monotonic() - started:.0f} s")
    if "bytes_per_event" in case.metrics:
        case.goals[f"<= {GOAL_BYTES_PER_EVENT} B/event"] = case.metrics["bytes_per_event"] <= GOAL_BYTES_PER_EVENT
    return case


# -- output --------------------------------------------------------------------------------


def _print_machine(console: Console, machine: dict[str, Any]) -> None:
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
    console.print(
        f"[bold]machine[/]: {machine['cpu']} · {machine['cores']} cores ({machine['usable_cores']} usable) · "
        f"{machine['memory_gib']} GiB · Python {machine['python']} · Linux {machine['kernel']} · "
        f"SQLite {machine['sqlite']} · {machine['wrk']} · fsync p50 {machine['fsync_ms_p50']} ms\n{packages}"
    )
    if machine["busy_pct_at_start"] > NOISY_PCT:
        console.print(
            f"[yellow]warning: the machine was already busy ({machine['busy_pct_at_start']:.0f}% of a core) "
            "before the run: numbers will be noisy[/]"
        )


def _print_results(console: Console, cases: list[Case], config: Config, elapsed: float) -> None:
    console.print(_http_table([c for c in cases if c.name not in (STORAGE, REPLAY)], config))
    console.print(_in_process_table([c for c in cases if c.name in (STORAGE, REPLAY)]))
    console.print(f"total {elapsed:.0f} s")


def _http_table(cases: list[Case], config: Config) -> Table:
    table = Table(
        title=f"HTTP — wrk, {config.connections} connections, loopback, "
        f"{config.warmup:g} s warm-up + {config.duration:g} s measured per case",
        title_justify="left",
    )
    for column in ("case", "backend", "status"):
        table.add_column(column)
    for column in ("req/s", "events/s", "p50 ms", "p99 ms", "× floor", "CPU server/db/wrk/other", "RSS / peak MiB"):
        table.add_column(column, justify="right")
    table.add_column("goals / notes")
    for case in cases:
        m = case.metrics
        if case.status != "ok" or "rps" not in m:
            table.add_row(case.name, case.backend, _status(case), *[""] * 7, case.reason)
            continue
        cpu = "/".join(
            f"{m[k]:.0f}" for k in ("server_cpu_pct", "database_cpu_pct", "loadgen_cpu_pct", "other_cpu_pct")
        )
        notes = [_goals(case)] if case.goals else []
        if "decided_pct" in m:
            notes.append(f"{m['decided_pct']:g}% decided")
        if m["other_cpu_pct"] > NOISY_PCT:
            notes.append(f"[yellow]noisy: other load {m['other_cpu_pct']:.0f}%[/]")
        table.add_row(
            case.name,
            case.backend,
            _status(case),
            f"{m['rps']:.0f}",
            f"{m['events_per_s']:.0f}" if "events_per_s" in m else "",
            f"{m['latency_ms']['p50']:.2f}",
            f"{m['latency_ms']['p99']:.2f}",
            f"{m.get('ratio_to_floor', 1.0 if case.backend == 'none' else float('nan')):.2f}",
            cpu + "%",
            f"{m['rss_mib']:.0f} / {m['hwm_mib']:.0f}",
            " · ".join(notes),
        )
    return table


def _in_process_table(cases: list[Case]) -> Table:
    table = Table(title="In-process", title_justify="left")
    for column in ("case", "status", "result", "details"):
        table.add_column(column)
    for case in cases:
        m = case.metrics
        if case.status != "ok":
            table.add_row(case.name, _status(case), "", case.reason)
        elif case.name == STORAGE:
            label = (
                "measured" if m["reached_target"] else f"[yellow]measured at {m['events']:,} events, extrapolated[/]"
            )
            breakdown = ", ".join(f"{k} {v:g}" for k, v in list(m["bytes_per_event_by_object"].items())[:6])
            curve = " → ".join(f"{n // 1000}k: {b:g}" for n, b in m["bytes_per_event_curve"][::3])
            table.add_row(
                case.name,
                _status(case),
                f"{m['bytes_per_event']:.0f} B/event  {_goals(case)}",
                f"{label}: {m['events']:,} events of {m['visitors']:,} visitors over {m['days_simulated']:g} days, "
                f"{m['file_bytes'] / 2**20:.0f} MiB, written at {m['events_per_s']:,} events/s in-process\n"
                f"B/event by table or index: {breakdown}\nB/event as the file grows: {curve or '-'}",
            )
        else:
            table.add_row(
                case.name,
                _status(case),
                f"{m['events_per_s']:,} events/s",
                f"{m['people']:,} histories of {m['mean_history']} events; one of {m['long_history_events']:,} events: "
                f"{m['long_history_ms']:.0f} ms ({m['long_history_events_per_s']:,} events/s)",
            )
    return table


def _status(case: Case) -> str:
    return {"ok": "[green]ok[/]", "failed": "[red]failed[/]"}.get(case.status, "[yellow]n/a[/]")


def _goals(case: Case) -> str:
    return " ".join(f"[green]✓ {g}[/]" if met else f"[red]✗ {g}[/]" for g, met in case.goals.items())
