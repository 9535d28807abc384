"""The machine the numbers were taken on, and how fast its disk makes a write durable."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from .load import wrk_version
from .servers import PG_ADMIN, machine_cpu_seconds


def describe(work: Path) -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": sys.version.split()[0],
        "kernel": platform.release(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgresql(),
        "wrk": wrk_version(),
        "packages": {name: version(name) for name in ("starlette", "uvicorn", "uvloop", "httptools", "orjson")},
        # tracker's SQLite store fsyncs every group commit: this bounds its latency.
        "fsync_ms_p50": _fsync_ms(work),
        "busy_pct_at_start": busy_pct(),
    }


def busy_pct(seconds: float = 1.0) -> float:
    """CPU in use by whatever runs on the machine (100 = one core), over ``seconds``."""
    before = machine_cpu_seconds()
    time.sleep(seconds)
    return round(100 * (machine_cpu_seconds() - before) / seconds, 1)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def _postgresql() -> str:
    """The server's version and whether its autovacuum runs: without it tracker keeps its tables'
    statistics itself (``store/pg_upkeep.py``), and that work is in the database's CPU."""
    if shutil.which("psql") is None:
        return "no psql"
    sql = "SELECT current_setting('server_version') || ', autovacuum ' || current_setting('autovacuum')"
    argv = ["psql", *PG_ADMIN, "-d", "postgres", "-Atc", sql]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except subprocess.TimeoutExpired:
        return "not answering"
    return done.stdout.strip() if done.returncode == 0 else "not reachable"


def _fsync_ms(work: Path, rounds: int = 30) -> float:
    work.mkdir(parents=True, exist_ok=True)
    path = work / "fsync.probe"
    times: list[float] = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(rounds):
            os.write(fd, b"x" * 4096)
            began = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - began)
    finally:
        os.close(fd)
        path.unlink()
    return round(1000 * statistics.median(times), 3)
