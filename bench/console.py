"""``python -m bench.console``: the console's pages on a large store, and ingestion while someone browses.

Issue 12's performance goals, on SQLite with 100k people and 5M events:

* the lead list page p50 ≤ 150 ms, a lead page with 2,000 timeline events p50 ≤ 200 ms,
  the dashboard p50 ≤ 300 ms — real HTTP against ``tracker serve`` (uvicorn), signed in;
* ingestion (``POST /collect``, wrk as in ``python -m bench``) while a simulated user browses
  the console stays within 10 % of the throughput without.

Besides, with no goal: a draft's what-if over all of it, as the console shows it (``what_if_runs``):
how soon the page answers (with a progress bar, on a site this large), how long the replay takes
while htmx polls its progress, and the page with the result; and ingestion while a marketer replays
their draft again and again, or reads the calibration reports again and again, since either may share
the server's event loop with ingestion.

Run by hand, not a test: ``python -m bench.console`` (full size: the store takes a minute
or two to build, see ``console_data``); ``--people 10000 --events 500000`` for a quick run.
Results go to ``bench/results/console.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from rich.console import Console
from rich.table import Table

from .cases import COLLECT, STORED, Config, measure, traffic
from .console_data import build
from .load import Load
from .machine import busy_pct
from .servers import REPO, Server, free_port, start, tracker_argv
from .traffic import BEACON_HEADERS

RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "bench console password"
# (name, path, goal p50 ms, text the page must contain)
PAGES = (
    ("lead list", "/admin/leads", 150.0, 'rel="next"'),
    ("lead page (2,000 events)", "/admin/leads/1", 200.0, "lead1@company1.example"),
    ("dashboard", "/admin/", 300.0, 'data-figure="sql-week"'),
)
MAX_INGEST_DROP = 0.10


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--samples", type=int, default=30, help="timed requests per page (after 3 warm-up ones)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per ingestion run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--visitors", type=int, default=1000, help="beacon visitors sending during ingestion")
    parser.add_argument("--think", type=float, default=1.0, help="seconds the console user reads each page")
    parser.add_argument("--keep", action="store_true", help="keep the data directory (to re-run against it)")
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a store built by an earlier --keep run")
    parser.add_argument("--output", type=Path, default=RESULTS / "console.json")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if Console().is_terminal else 160)
    work = args.data_dir or Path(tempfile.mkdtemp(prefix="tracker-console-bench-"))
    report: dict[str, Any] = {"settings": {k: str(v) for k, v in vars(args).items()}, "busy_pct": busy_pct()}
    try:
        if args.data_dir is None:
            console.print(f"building {args.people:,} people and {args.events:,} events in {work} …")
            report["store"] = build(work / "tracker.db", args.people, args.events)
            console.print(f"  built in {report['store']['seconds']:g} s ({report['store']['rows_per_s']:,} events/s)")
        port = free_port()
        env = {"TRACKER_SECRET": secrets.token_urlsafe(32), "TRACKER_IP_LIMIT": "off"}
        argv_ = [*tracker_argv(port, work), "--no-demo-history"]
        server = start("tracker-console", argv_, RESULTS / "logs", env, port)
        try:
            cookie = _sign_in(work, port, env)
            report["pages"] = [_time_page(port, cookie, page, args.samples) for page in PAGES]
            report["what_if"] = _what_if(port, cookie)
            report["ingestion"] = _ingestion(server, cookie, args, work)
        finally:
            server.stop()
    finally:
        if not args.keep and args.data_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    console.print(_table(report))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"results written to {args.output}")
    return 0


def _sign_in(work: Path, port: int, env: dict[str, str]) -> str:
    """A console session for a new admin, set up from the CLI's one-time link as a person would."""
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "tracker", "users", "create", f"bench-{port}@example.com", "--role", "admin"]
    created = subprocess.run(
        [*command, "--base-url", base, "--data-dir", str(work)],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    token = parse_qs(urlsplit(created.stdout.strip().splitlines()[-1]).query)["t"][0]
    answer = httpx.post(f"{base}/admin/setup", data={"t": token, "password": PASSWORD, "confirm": PASSWORD})
    if answer.status_code != 303:
        raise RuntimeError(f"console setup failed: HTTP {answer.status_code} {answer.text[:300]}")
    return f"tk_session={answer.cookies['tk_session']}"


def _time_page(port: int, cookie: str, page: tuple[str, str, float, str], samples: int) -> dict[str, Any]:
    name, path, goal, marker = page
    timings: list[float] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"cookie": cookie}, timeout=60) as client:
        for n in range(samples + 3):
            began = time.perf_counter()
            answer = client.get(path)
            elapsed = 1000 * (time.perf_counter() - began)
            if answer.status_code != 200 or marker not in answer.text:
                raise RuntimeError(f"{path}: HTTP {answer.status_code} without {marker!r}: {answer.text[:300]}")
            if n == 0:
                first = elapsed  # cold: nothing of this page in SQLite's cache, nor the week's top lists kept
            elif n >= 3:
                timings.append(elapsed)
    p50 = statistics.median(timings)
    return {
        "name": name,
        "path": path,
        "first_ms": round(first, 1),
        "p50_ms": round(p50, 1),
        "p90_ms": round(statistics.quantiles(timings, n=10)[-1], 1),
        "max_ms": round(max(timings), 1),
        "bytes": len(answer.content),
        "goal_p50_ms": goal,
        "met": p50 <= goal,
    }


def _what_if(port: int, cookie: str) -> dict[str, Any]:
    """A draft replayed over the whole month from the console: the page, its progress polled, its result."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"cookie": cookie}, timeout=120) as client:
        editor = client.get("/admin/programme/edit?site=demo")
        csrf = _found(r'name="csrf" value="([^"]+)"', editor.text, "the editor's CSRF token")
        source = client.get("/admin/programme/export?site=demo&n=1").text
        draft = {"csrf": csrf, "site": "demo", "source": source + "\n# bench.console: a draft\n"}
        saved = client.post("/admin/programme/edit/toml", data=draft)
        if saved.status_code != 303:
            raise RuntimeError(f"saving the draft: HTTP {saved.status_code} {saved.text[:300]}")
        page = "/admin/programme/what-if?site=demo&days=365"
        began = time.perf_counter()
        answer = client.get(page)
        first = time.perf_counter() - began
        polls = 0
        if "what-if/progress" in answer.text:
            progress = _found(r'hx-get="([^"]+)"', answer.text, "the progress block").replace("&amp;", "&")
            while "HX-Refresh" not in (polled := client.get(progress)).headers:
                polls += 1
                time.sleep(1.0)  # as htmx: hx-trigger="every 1s"
                if time.perf_counter() - began > 3600:
                    raise RuntimeError(f"the what-if still runs after an hour: {polled.text[:300]}")
            shown = time.perf_counter()
            answer = client.get(page)
        else:
            shown = time.perf_counter()
        replayed = _found(r"([\d,]+) people seen in the last 365 days", answer.text, "the what-if's result")
    return {
        "first_answer_ms": round(1000 * first, 1),
        "progress_shown": polls > 0,
        "polls": polls,
        "result_after_s": round(shown - began, 1),
        "result_page_ms": round(1000 * (time.perf_counter() - shown), 1),
        "people": int(replayed.replace(",", "")),
    }


def _found(pattern: str, text: str, what: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"no {what} in {text[:300]!r}")
    return match[1]


class ConsoleUser(threading.Thread):
    """Someone signed in to the console, at work in a thread of their own until ``stopped`` is set."""

    def __init__(self, port: int, cookie: str, timeout: float) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"cookie": cookie}, timeout=timeout)
        self.stopped = threading.Event()


class Replaying(ConsoleUser):
    """One marketer replaying their saved draft ("Replay again") as soon as the last replay ended."""

    def __init__(self, port: int, cookie: str) -> None:
        super().__init__(port, cookie, timeout=120)
        self.replays = 0

    def run(self) -> None:
        editor = self.client.get("/admin/programme/edit?site=demo")
        form = {"csrf": _found(r'name="csrf" value="([^"]+)"', editor.text, "the CSRF token"), "site": "demo"}
        progress = "/admin/programme/what-if/progress?site=demo&days=365"
        while not self.stopped.is_set():
            self.client.post("/admin/programme/what-if", data={**form, "days": "365"})
            while "HX-Refresh" not in self.client.get(progress).headers:
                if self.stopped.wait(1.0):
                    break
            else:
                self.replays += 1
        self.client.close()


class Reporting(ConsoleUser):
    """One marketer reading the calibration reports of the whole store again and again, each with another band
    width: the same question asked again would be answered by the report kept (``services.kept_reports``)."""

    def __init__(self, port: int, cookie: str) -> None:
        super().__init__(port, cookie, timeout=300)
        self.reports = 0

    def run(self) -> None:
        while not self.stopped.is_set():
            width = 1 + self.reports % 50
            if self.client.get(f"/admin/reports?site=demo&width={width}").status_code == 200:
                self.reports += 1
        self.client.close()


class Browsing(ConsoleUser):
    """One console user going round the pages, reading each for ``think`` seconds."""

    def __init__(self, port: int, cookie: str, think: float) -> None:
        super().__init__(port, cookie, timeout=60)
        self.think = think
        self.timings: list[float] = []

    def run(self) -> None:
        while not self.stopped.is_set():
            for _, path, _, _ in PAGES:
                began = time.perf_counter()
                self.client.get(path)
                self.timings.append(1000 * (time.perf_counter() - began))
                if self.stopped.wait(self.think):
                    break
        self.client.close()


def _ingestion(server: Server, cookie: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    config = Config(args.warmup, args.duration, args.connections, args.visitors, work)
    # The main bench's returning visitors (primed with past visits), each request checked as stored.
    bodies = traffic(server.port, 1, args.visitors).returning
    load = Load([server.port], COLLECT, BEACON_HEADERS, bodies, STORED)
    alone, offsets = measure([server], load, config)
    user = Browsing(server.port, cookie, args.think)
    browsed, offsets = _measure_while(user, server, load, config, offsets)
    marketer = Replaying(server.port, cookie)
    replaying, offsets = _measure_while(marketer, server, load, config, offsets)
    analyst = Reporting(server.port, cookie)
    reporting, _ = _measure_while(analyst, server, load, config, offsets)
    ratio = browsed["rps"] / alone["rps"] if alone["rps"] else 0.0
    return {
        "alone": _summary(alone),
        "while_browsing": _summary(browsed),
        "while_replaying": _summary(replaying),
        "replays_ended": marketer.replays,
        "replaying_ratio": round(replaying["rps"] / alone["rps"] if alone["rps"] else 0.0, 3),
        "while_reporting": _summary(reporting),
        "reports_read": analyst.reports,
        "reporting_ratio": round(reporting["rps"] / alone["rps"] if alone["rps"] else 0.0, 3),
        "console_pages_served": len(user.timings),
        "console_p50_ms_under_load": round(statistics.median(user.timings), 1) if user.timings else None,
        "ratio": round(ratio, 3),
        "goal": f">= {1 - MAX_INGEST_DROP:g}",
        "met": ratio >= 1 - MAX_INGEST_DROP,
    }


def _measure_while(
    console: ConsoleUser, server: Server, load: Load, config: Config, offsets: Sequence[int]
) -> tuple[dict[str, Any], list[int]]:
    """Ingestion measured while ``console`` works in the console."""
    console.start()
    try:
        return measure([server], load, config, offsets)
    finally:
        console.stopped.set()
        console.join()


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    keys = ("rps", "latency_ms", "errors", "server_cpu_pct", "other_cpu_pct")
    stored = 100 * metrics["matched"] / max(1, metrics["checked"])
    return {**{k: metrics[k] for k in keys}, "stored_pct": round(stored, 2)}


def _table(report: dict[str, Any]) -> Table:
    store = report.get("store")
    built = f", built in {store['seconds']:g} s" if store else ""
    table = Table(
        title=f"Console on SQLite{built} (machine busy {report['busy_pct']:g}% at start)", title_justify="left"
    )
    for column in ("case", "p50 ms", "p90 ms", "goal", "notes"):
        table.add_column(column, justify="left" if column in ("case", "notes") else "right")
    for page in report["pages"]:
        mark = "[green]✓[/]" if page["met"] else "[red]✗[/]"
        first = f"first (cold) {page['first_ms']:g} ms, {page['bytes'] // 1024} KiB"
        table.add_row(
            page["name"], f"{page['p50_ms']:g}", f"{page['p90_ms']:g}", f"{mark} ≤ {page['goal_p50_ms']:g}", first
        )
    what_if = report["what_if"]
    table.add_row(
        "what-if of a draft, 365 days",
        f"{what_if['first_answer_ms']:g}",
        "",
        "—",
        f"first answer {'with its progress' if what_if['progress_shown'] else 'with the result'};"
        f" result after {what_if['result_after_s']:g} s ({what_if['people']:,} people),"
        f" then the page in {what_if['result_page_ms']:g} ms",
    )
    ingest = report["ingestion"]
    alone, browsed = ingest["alone"], ingest["while_browsing"]
    mark = "[green]✓[/]" if ingest["met"] else "[red]✗[/]"
    notes = (
        f"{alone['rps']:.0f} req/s alone, {browsed['rps']:.0f} while browsing ({ingest['console_pages_served']} pages,"
        f" p50 {ingest['console_p50_ms_under_load']} ms); stored {browsed['stored_pct']:g}%;"
        f" other CPU {browsed['other_cpu_pct']:g}%"
    )
    table.add_row(
        "POST /collect while browsing ÷ alone",
        f"{browsed['latency_ms']['p50']:.2f}",
        f"{browsed['latency_ms'].get('p90', float('nan')):.2f}",
        f"{mark} ×{ingest['ratio']:.3f} {ingest['goal']}",
        notes,
    )
    replaying = ingest["while_replaying"]
    table.add_row(
        "POST /collect while a what-if runs ÷ alone",
        f"{replaying['latency_ms']['p50']:.2f}",
        f"{replaying['latency_ms'].get('p90', float('nan')):.2f}",
        f"×{ingest['replaying_ratio']:.3f}",
        f"{replaying['rps']:.0f} req/s, p99 {replaying['latency_ms'].get('p99', float('nan')):.1f} ms"
        f" (alone {alone['latency_ms'].get('p99', float('nan')):.1f}); {ingest['replays_ended']} replays ended;"
        f" stored {replaying['stored_pct']:g}%",
    )
    reporting = ingest["while_reporting"]
    latency = reporting["latency_ms"]
    table.add_row(
        "POST /collect while reading the reports ÷ alone",
        f"{latency['p50']:.2f}",
        f"{latency.get('p90', float('nan')):.2f}",
        f"×{ingest['reporting_ratio']:.3f}",
        f"{reporting['rps']:.0f} req/s, p99 {latency.get('p99', float('nan')):.1f} ms, max"
        f" {latency.get('max', float('nan')):.1f}; {ingest['reports_read']} reports read;"
        f" stored {reporting['stored_pct']:g}%",
    )
    return table


if __name__ == "__main__":
    sys.exit(main())
