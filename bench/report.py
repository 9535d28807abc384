"""What ``python -m bench`` prints: the machine, the HTTP and in-process tables, the goals of issue #13."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from .cases import Case, Config
from .storage import GOAL_BYTES_PER_EVENT

# CPU (% of one core) used by unrelated processes during a case above which it is flagged.
NOISY_PCT = 15.0
STORAGE = "storage per event"
REPLAY = "replay (seed programme)"
WHAT_IF = "what-if (simulated site)"
# Names of the cases the goals read (bench.run makes them).
RETURNING = "/collect returning"
NEW = "/collect new"
MIXED = "/collect mixed"
WORKERS = "/collect mixed, --workers 2"
BATCH = "/v1/batch (100 events)"
# Issue #13's goals.
PER_CPU_SQLITE = 0.4
PER_CPU_POSTGRESQL = 0.2
BATCH_SQLITE_EVENTS = 30_000
BATCH_POSTGRESQL_EVENTS = 10_000
REPLAY_EVENTS = 300_000
WHAT_IF_EVENTS = 300_000  # issue #14: what-if on SQLite, one core


@dataclass(frozen=True, slots=True)
class Goal:
    goal: str
    measured: str
    met: bool | None  # None: not measured in this run (the measured column says why)


def goals(cases: list[Case]) -> list[Goal]:
    found = {(c.name, c.backend): c for c in cases}

    def per_cpu(name: str, backend: str, floor: float, label: str) -> Goal:
        case = found.get((name, backend))
        if case is None or case.status != "ok":
            return Goal(label, _why(case), None)
        ratio = case.metrics["ratio"]
        return Goal(
            label, f"{ratio['per_cpu']:.2f}× per CPU-second ({ratio['rps']:.2f}× req/s)", ratio["per_cpu"] >= floor
        )

    def events(name: str, backend: str, goal: int, label: str) -> Goal:
        case = found.get((name, backend))
        if case is None or case.status != "ok":
            return Goal(label, _why(case), None)
        rate = case.metrics["events_per_s"]
        return Goal(
            label, f"{rate:,.0f} events/s, p50 {case.metrics['tracker']['latency_ms']['p50']:.0f} ms", rate >= goal
        )

    return [
        per_cpu(
            RETURNING,
            "sqlite",
            PER_CPU_SQLITE,
            f"/collect SQLite, returning visitors ≥ {PER_CPU_SQLITE}× per CPU-second",
        ),
        per_cpu(NEW, "sqlite", PER_CPU_SQLITE, f"/collect SQLite, new visitors ≥ {PER_CPU_SQLITE}× per CPU-second"),
        per_cpu(
            MIXED,
            "postgresql",
            PER_CPU_POSTGRESQL,
            f"/collect PostgreSQL ≥ {PER_CPU_POSTGRESQL}× counting server + database CPU",
        ),
        _workers(found.get((WORKERS, "sqlite"))),
        events(BATCH, "sqlite", BATCH_SQLITE_EVENTS, f"/v1/batch SQLite ≥ {BATCH_SQLITE_EVENTS:,} events/s"),
        events(
            BATCH, "postgresql", BATCH_POSTGRESQL_EVENTS, f"/v1/batch PostgreSQL ≥ {BATCH_POSTGRESQL_EVENTS:,} events/s"
        ),
        _in_process_goal(
            found.get((REPLAY, "-")),
            f"replay ≥ {REPLAY_EVENTS:,} events/s",
            "events_per_s",
            REPLAY_EVENTS,
            "{:,.0f} events/s",
            True,
        ),
        _in_process_goal(
            found.get((WHAT_IF, "sqlite")),
            f"what-if on SQLite ≥ {WHAT_IF_EVENTS:,} events/s (issue #14)",
            "events_per_s",
            WHAT_IF_EVENTS,
            "{:,.0f} events/s",
            True,
        ),
        _in_process_goal(
            found.get((STORAGE, "sqlite")),
            f"storage ≤ {GOAL_BYTES_PER_EVENT} B/event",
            "bytes_per_event",
            GOAL_BYTES_PER_EVENT,
            "{:.0f} B/event",
            False,
        ),
    ]


def _workers(case: Case | None) -> Goal:
    label = "SQLite --workers 2: more than 1 worker, or refused with a reason"
    if case is None:
        return Goal(label, "not run", None)
    if case.status == "n/a":  # tracker serve exited before listening: its last line is the reason
        return Goal(label, f"refused: {case.reason}", bool(case.reason))
    if case.status != "ok":
        return Goal(label, _why(case), False)
    m = case.metrics
    measured = (
        f"{m['workers']} workers, {m['tracker']['rps']:.0f} req/s, p99 {m['tracker']['latency_ms']['p99']:.0f} ms"
    )
    return Goal(label, measured, m["workers"] > 1)


def _in_process_goal(case: Case | None, label: str, key: str, goal: float, shown: str, at_least: bool) -> Goal:
    if case is None or case.status != "ok":
        return Goal(label, _why(case), None)
    value = float(case.metrics[key])
    return Goal(label, shown.format(value), value >= goal if at_least else value <= goal)


def _why(case: Case | None) -> str:
    return "not run" if case is None else f"{case.status}: {case.reason}"


# -- printing ----------------------------------------------------------------------------------


def print_machine(console: Console, machine: dict[str, Any]) -> None:
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
    console.print(
        f"[bold]machine[/]: {machine['cpu']} · {machine['cores']} cores ({machine['usable_cores']} usable) · "
        f"{machine['memory_gib']} GiB · Python {machine['python']} · Linux {machine['kernel']} · "
        f"SQLite {machine['sqlite']} · PostgreSQL {machine['postgresql']} · {machine['wrk']} · "
        f"fsync p50 {machine['fsync_ms_p50']} ms\n{packages}"
    )
    if machine["busy_pct_at_start"] > NOISY_PCT:
        console.print(
            f"[yellow]warning: the machine was already busy ({machine['busy_pct_at_start']:.0f}% of a core) "
            "before the run: numbers will be noisy[/]"
        )


def print_results(console: Console, cases: list[Case], config: Config, elapsed: float) -> None:
    http = [c for c in cases if c.name not in (STORAGE, REPLAY, WHAT_IF)]
    console.print(collect_table([c for c in http if c.metrics.get("path") != "/v1/batch"], config))
    console.print(batch_table([c for c in http if c.metrics.get("path") == "/v1/batch"]))
    console.print(in_process_table([c for c in cases if c.name in (STORAGE, REPLAY, WHAT_IF)]))
    console.print(goals_table(goals(cases)))
    console.print(f"total {elapsed:.0f} s")


def collect_table(cases: list[Case], config: Config) -> Table:
    table = Table(
        title=f"/collect — floor and tracker alternated {config.rounds}×, wrk {config.connections} connections, "
        f"{config.warmup:g} s warm-up + {config.duration:g} s each; medians",
        title_justify="left",
    )
    for column in ("case", "backend", "status"):
        table.add_column(column)
    for column in ("floor req/s", "floor CPU-µs/req", "req/s", "CPU-µs/req srv+db", "× req/s"):
        table.add_column(column, justify="right")
    table.add_column("× per CPU-s (rounds)", justify="right")
    for column in ("p50 / p99 ms saturated", "open-loop p99 ms @ req/s", "CPU % srv/db/wrk/other", "RSS MiB"):
        table.add_column(column, justify="right")
    table.add_column("notes")
    for case in cases:
        m = case.metrics
        if case.status != "ok" or "tracker" not in m:
            table.add_row(case.name, case.backend, _status(case), *[""] * 10, case.reason)
            continue
        t, f, ratio, ol = m["tracker"], m["floor"], m["ratio"], m["open_loop"]
        cpu = "/".join(
            f"{t[k]:.0f}" for k in ("server_cpu_pct", "database_cpu_pct", "loadgen_cpu_pct", "other_cpu_pct")
        )
        notes = [f"workers {m['workers']}, floor {m['floor_workers']}", f"{m['events_per_request']:g} events/req"]
        notes.append(f"open-loop client {ol['client_cpu_pct']:.0f}% CPU")
        other = max(t["other_cpu_pct"], f["other_cpu_pct"])
        if other > NOISY_PCT:
            notes.append(f"[yellow]noisy: other load {other:.0f}%[/]")
        rounds = " ".join(f"{r['per_cpu']:.2f}" for r in ratio["rounds"])
        table.add_row(
            case.name,
            case.backend,
            _status(case),
            f"{f['rps']:,.0f}",
            f"{f['server_us_per_req']:.0f}",
            f"{t['rps']:,.0f}",
            f"{t['server_us_per_req']:.0f}+{t['database_us_per_req']:.0f}",
            f"{ratio['rps']:.2f}",
            f"[bold]{ratio['per_cpu']:.2f}[/] ({rounds})",
            f"{t['latency_ms']['p50']:.1f} / {t['latency_ms']['p99']:.1f}",
            f"{ol['latency_ms'].get('p99', float('nan')):.1f} @ {ol['offered_rps']:,.0f}",
            cpu,
            f"{t['rss_mib']:.0f}",
            " · ".join(notes),
        )
    return table


def batch_table(cases: list[Case]) -> Table:
    table = Table(title="/v1/batch — 100 events a request, measured once (absolute goal)", title_justify="left")
    for column in ("case", "backend", "status"):
        table.add_column(column)
    for column in ("events/s", "req/s", "p50 / p99 ms", "CPU-µs/event srv+db", "CPU % srv/db"):
        table.add_column(column, justify="right")
    table.add_column("notes")
    for case in cases:
        m = case.metrics
        if case.status != "ok" or "tracker" not in m:
            table.add_row(case.name, case.backend, _status(case), *[""] * 5, case.reason)
            continue
        t = m["tracker"]
        table.add_row(
            case.name,
            case.backend,
            _status(case),
            f"{m['events_per_s']:,.0f}",
            f"{t['rps']:,.0f}",
            f"{t['latency_ms']['p50']:.0f} / {t['latency_ms']['p99']:.0f}",
            f"{t['server_us_per_req'] / 100:.0f}+{t['database_us_per_req'] / 100:.0f}",
            f"{t['server_cpu_pct']:.0f}/{t['database_cpu_pct']:.0f}",
            f"{t['processes']} process(es)",
        )
    return table


def in_process_table(cases: list[Case]) -> Table:
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
                f"{m['bytes_per_event']:.0f} B/event",
                f"{label}: {m['events']:,} events of {m['visitors']:,} visitors over {m['days_simulated']:g} days, "
                f"{m['file_bytes'] / 2**20:.0f} MiB, written at {m['events_per_s']:,} events/s in-process\n"
                f"B/event by table or index: {breakdown}\nB/event as the file grows: {curve or '-'}",
            )
        elif case.name == WHAT_IF:
            table.add_row(
                case.name,
                _status(case),
                f"{m['events_per_s']:,} events/s",
                f"{m['events']:,} stored events of {m['people']:,} people (simulated: {m['simulated_people']:,} "
                f"over 90 days), read and replayed {m['runs']} times; {m['events_per_cpu_s']:,} events per CPU-second; "
                f"{m['changed']:,} would change stage",
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


def goals_table(found: list[Goal]) -> Table:
    table = Table(title="Goals of issues #13 and #14", title_justify="left")
    for column in ("", "goal", "measured"):
        table.add_column(column)
    marks = {True: "[green]✓[/]", False: "[red]✗[/]", None: "[yellow]–[/]"}
    for goal in found:
        table.add_row(marks[goal.met], goal.goal, goal.measured)
    return table


def _status(case: Case) -> str:
    return {"ok": "[green]ok[/]", "failed": "[red]failed[/]"}.get(case.status, "[yellow]n/a[/]")
