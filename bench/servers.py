"""Servers under test: started as subprocesses on loopback, watched through /proc.

tracker is started with its own CLI (``tracker serve``), so what is measured is what
ships; the floor gets the same uvicorn settings on the command line.  With
``--workers N`` uvicorn forks: a server's CPU and memory are those of its whole
process tree, read from /proc.  A server that
exits before it listens becomes ``Unavailable`` with the last line it printed, which
is how a backend that does not exist yet shows up in the results.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .load import Unavailable

REPO = Path(__file__).resolve().parent.parent
# Same as ``tracker serve`` (tracker/cli.py): uvloop, httptools, warnings only.
UVICORN_FLAGS = ("--loop", "uvloop", "--http", "httptools", "--log-level", "warning")
_TICKS = os.sysconf("SC_CLK_TCK")
PG_ADMIN = ("-h", "127.0.0.1", "-p", "5432", "-U", "postgres")
# A backend's process title holds its client's address: "postgres: user database 127.0.0.1(5678) idle".
_BACKEND = re.compile(r"\(\d+\)|\[local\]")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    database: str | None = None  # the PostgreSQL database it uses, whose backends' CPU is counted

    @property
    def pid(self) -> int:
        return self.process.pid

    def pids(self) -> list[int]:
        """The server process and its descendants (uvicorn's workers)."""
        return process_tree(self.pid)

    def workers(self) -> int:
        """Processes that serve requests: uvicorn's spawned workers, or the server itself."""
        spawned = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                spawned += b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        return spawned or 1

    def memory_kib(self) -> dict[str, int]:
        """VmRSS (now) and VmHWM (peak resident set) summed over the server's processes."""
        found: dict[str, int] = {}
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    key, _, value = line.partition(":")
                    if key in ("VmRSS", "VmHWM"):
                        found[key] = found.get(key, 0) + int(value.split()[0])
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU time so far of the process tree (threads included)."""
        total = 0.0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                total += _cpu_seconds(Path(f"/proc/{pid}/stat").read_text())
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start(name: str, argv: Sequence[str], log_dir: Path, env: Mapping[str, str], port: int) -> Server:
    """Start ``argv`` and wait until it accepts connections on ``port``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(argv), cwd=REPO, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(name, port, process, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Unavailable(f"{name} exited ({process.returncode}) before listening: {_last_line(log)}")
        if _answers(port):
            return server
        time.sleep(0.1)
    server.stop()
    raise Unavailable(f"{name} did not listen on port {port} within 30 s: {_last_line(log)}")


def _answers(port: int) -> bool:
    """Whether an HTTP request gets a status line: with ``--workers`` the parent listens
    before any worker can answer, so accepting a connection is not being ready."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return sock.recv(16).startswith(b"HTTP/1.1 ")
    return False


def _last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def process_tree(root: int) -> list[int]:
    """``root`` and every live descendant, from the parent pids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rpartition(")")[2].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _cpu_seconds(stat: str) -> float:
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def postgres_cpu(database: str | None) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL process working for ``database`` ({} for None: SQLite).

    That is the backends connected to it (their title names the database) and the
    shared auxiliary processes (WAL writer, checkpointer, ...), which flush whoever's
    writes; backends of other databases (someone else's tests) are left out.
    """
    if database is None:
        return {}
    found: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError):
            text = stat.read_text()
            if text[text.find("(") + 1 : text.rfind(")")] != "postgres":
                continue
            title = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if _BACKEND.search(title) and f" {database} " not in title:
                continue
            found[int(stat.parent.name)] = _cpu_seconds(text)
    return found


def cpu_delta(before: Mapping[int, float], after: Mapping[int, float]) -> float:
    """CPU spent between two per-process snapshots; a process gone meanwhile is not subtracted
    (summing all, one that exited would make the delta negative)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def machine_cpu_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICKS


def tracker_argv(port: int, data_dir: Path, db: str | None = None, workers: int = 1) -> list[str]:
    argv = [sys.executable, "-m", "tracker", "serve", "--demo", "--port", str(port), "--data-dir", str(data_dir)]
    argv += ["--workers", str(workers)]
    return [*argv, "--db", db] if db else argv


def create_ingest_key(data_dir: Path, db: str | None, site: str) -> str:
    """A write key for the Segment API, made with tracker's own CLI (shown once on stdout)."""
    argv = [sys.executable, "-m", "tracker", "keys", "create", "--role", "ingest", "--site", site]
    argv += ["--data-dir", str(data_dir), *(["--db", db] if db else [])]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    lines = done.stdout.split()
    if done.returncode != 0 or not lines:
        raise Unavailable(f"`tracker keys create --role ingest` failed: {(done.stderr or done.stdout).strip()[-300:]}")
    return lines[-1]


def floor_argv(port: int, workers: int = 1) -> list[str]:
    app = ["-m", "uvicorn", "bench.floor:app", "--host", "127.0.0.1", "--port", str(port)]
    return [sys.executable, *app, *UVICORN_FLAGS, "--workers", str(workers)]


@contextlib.contextmanager
def running(servers: list[Server]) -> Iterator[list[Server]]:
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


@contextlib.contextmanager
def pg_database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one case, dropped afterwards; yields its URL."""
    for tool in ("createdb", "dropdb"):
        if shutil.which(tool) is None:
            raise Unavailable(f"{tool} not found (install the postgresql-client package)")
    made = subprocess.run(["createdb", *PG_ADMIN, name], capture_output=True, text=True, timeout=30, check=False)
    if made.returncode != 0:
        raise Unavailable(f"createdb {name} failed: {made.stderr.strip()}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        # A busy PostgreSQL can take a while; a database left behind must not lose the run's results.
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                ["dropdb", *PG_ADMIN, "--force", "--if-exists", name], capture_output=True, timeout=120, check=False
            )
