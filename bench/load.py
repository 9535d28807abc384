"""Load generation: wrk for the measurements, a lean asyncio client for set-up and checks.

wrk is C with one LuaJIT state per thread: one thread drives 32 keep-alive
connections at tens of thousands of requests per second on a fraction of one core,
so on a 2-core machine the Python server, not the load generator, is what is
measured.  The asyncio client here only primes visitors and takes samples; it is
never timed.  Open-loop latency at a fixed rate is bench/openloop.py's.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "bodies.lua"
INSTALL_HINT = "wrk is missing: install it with `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`"


class Unavailable(Exception):
    """A case cannot run here; the message says why (shown as "not available")."""


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise Unavailable(INSTALL_HINT)
    return found


def wrk_version() -> str:
    try:
        done = subprocess.run([wrk_binary(), "-v"], capture_output=True, text=True, timeout=5, check=False)
    except Unavailable:
        return "missing"
    first = (done.stdout or done.stderr or "unknown").splitlines()[0]
    return first.split(" Copyright")[0].strip()


@dataclass(frozen=True, slots=True)
class Load:
    """Where and what to send: bodies[i] is wrk thread i's list, one thread per port."""

    ports: Sequence[int]
    path: str
    headers: Mapping[str, str]
    bodies: Sequence[Sequence[bytes]]
    expect: str = ""


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    seconds: float
    errors: dict[str, int]
    latency_ms: dict[str, float]
    checked: int
    matched: int
    unexpected: str  # the first response that did not match, "status body…"
    loadgen_cpu_seconds: float
    sent: list[int]  # per thread, how far into its bodies it got (the next run's offsets)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


def run_wrk(load: Load, workdir: Path, *, connections: int, seconds: float, offsets: Sequence[int] = ()) -> LoadResult:
    """Run wrk for ``seconds`` and return its numbers (raises on a wrk failure).

    ``offsets`` continues a previous run's rotation through the bodies: restarting at the
    first body would send a visitor's next page view moments after its last one.
    """
    threads = len(load.ports)
    if len(load.bodies) != threads:
        raise ValueError("one list of bodies per port")
    workdir.mkdir(parents=True, exist_ok=True)
    stem = workdir / f"bodies-{uuid.uuid4().hex[:8]}"
    for index, bodies in enumerate(load.bodies):
        Path(f"{stem}-{index}.txt").write_bytes(b"\n".join(bodies) + b"\n")
    env = {
        **os.environ,
        "BENCH_PATH": load.path,
        "BENCH_BODIES": f"{stem}-%d.txt",
        "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in load.headers.items()),
        "BENCH_PORTS": ",".join(str(p) for p in load.ports),
        "BENCH_EXPECT": load.expect,
        "BENCH_RUN": uuid.uuid4().hex[:8],
        "BENCH_OFFSETS": ",".join(str(n) for n in offsets),
    }
    argv = [
        wrk_binary(),
        f"-t{threads}",
        f"-c{max(connections, threads)}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        f"http://127.0.0.1:{load.ports[0]}{load.path}",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        argv, env=env, capture_output=True, encoding="utf-8", errors="replace", timeout=seconds + 60, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    for index in range(threads):
        Path(f"{stem}-{index}.txt").unlink(missing_ok=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    raw: dict[str, Any] = json.loads(line.removeprefix("BENCH_RESULT "))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return LoadResult(
        requests=int(raw["requests"]),
        seconds=raw["duration_us"] / 1e6,
        errors={k: int(v) for k, v in raw["errors"].items()},
        latency_ms={k: v / 1000.0 for k, v in raw["latency_us"].items()},
        checked=int(raw["checked"]),
        matched=int(raw["matched"]),
        unexpected=str(raw["unexpected"]),
        loadgen_cpu_seconds=cpu,
        sent=[int(n) for n in raw["sent"]],
    )


# -- a lean HTTP/1.1 client (keep-alive, Content-Length bodies only) ---------------------


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, headers: Mapping[str, str], body: bytes
) -> Reply:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()
    status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    length = 0
    for header in lines:
        name, _, value = header.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return Reply(int(status_line.split()[1]), await reader.readexactly(length))


async def post_all(
    port: int, path: str, headers: Mapping[str, str], bodies: Sequence[bytes], concurrency: int = 16
) -> list[Reply]:
    """POST every body (in order of the result) over ``concurrency`` keep-alive connections."""
    replies: list[Reply | None] = [None] * len(bodies)
    cursor = iter(range(len(bodies)))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for index in cursor:
                replies[index] = await _exchange(reader, writer, path, headers, bodies[index])
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(bodies)))))
    return [reply for reply in replies if reply is not None]


def post(port: int, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
    return asyncio.run(post_all(port, path, headers, [body], 1))[0]
