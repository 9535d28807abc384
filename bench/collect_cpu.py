"""CPU per ``/collect`` call, in-process: the app called as ASGI by the test itself, no sockets, no HTTP client.

The bench's HTTP cases count requests a second through uvicorn on a shared machine, next to the floor;
this one counts the process's CPU time per request (``time.process_time``: every thread, COMMIT's
fsync thread and SQLite's readers included; user and system apart) and, on PostgreSQL, that of the
database's processes (``servers.postgres_cpu``), so that a change to the beacon's path can be measured
in seconds, and profiled.  The loads are the HTTP cases' (``bench.visitors``): returning visitors primed
with a past of their own, then their next visit; new visitors' first requests; or both mixed.  Requests
go ``--concurrency`` at a time, so group commits hold several, as under wrk.  What uvicorn costs is not
in it: the floor's CPU per request (``python -m bench``) is that part.

    python -m bench.collect_cpu returning|new|mixed [--db postgresql://…] [--requests 2048] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import http
import itertools
import resource
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import uvloop
from starlette.types import ASGIApp, Message, Scope

from tracker.app import create_app
from tracker.config import Settings

from .own_schema import own_schema
from .servers import cpu_delta, postgres_cpu
from .traffic import BEACON_HEADERS, SEQ, beacon_body
from .visitors import Visitor, mixed, new_visitor_bodies, returning, returning_bodies

_ORIGIN = "http://127.0.0.1:8000"
_HEADERS = [(name.lower().encode(), value.encode()) for name, value in {**BEACON_HEADERS, "Origin": _ORIGIN}.items()]
_HEADERS.append((b"host", b"127.0.0.1:8000"))


@dataclass(frozen=True, slots=True)
class Round:
    user: float  # CPU-µs a request, this process
    system: float
    database: float  # PostgreSQL's processes for this database (0 on SQLite)

    @property
    def server(self) -> float:
        return self.user + self.system


async def _post(app: ASGIApp, body: bytes) -> tuple[int, bytes]:
    """One ``POST /collect`` through the app, as uvicorn would call it."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/collect",
        "raw_path": b"/collect",
        "query_string": b"",
        "root_path": "",
        "headers": [*_HEADERS, (b"content-length", str(len(body)).encode())],
        "client": ("10.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    status, chunks = 0, []

    async def receive() -> Message:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def _prime(app: ASGIApp, visitors: list[Visitor], concurrency: int) -> list[str]:
    """Every visitor's past requests, step by step, back-dated (``cases.prime``, without sockets)."""
    tokens: list[str | None] = [None] * len(visitors)
    sent_at = int(time.time() * 1000)

    async def past(index: int, step: int) -> None:
        visitor = visitors[index]
        ago = sent_at - int(1000 * visitor.ago[step])
        status, body = await _post(app, beacon_body(tokens[index], visitor.history[step], sent_at, ago))
        if status != http.HTTPStatus.OK or b'"vid":"' not in body:
            raise RuntimeError(f"priming visitors: HTTP {status} {body[:200]!r}")
        tokens[index] = body.split(b'"vid":"', 1)[1].split(b'"', 1)[0].decode()

    for step in range(max(len(v.history) for v in visitors)):
        due = [i for i, v in enumerate(visitors) if step < len(v.history)]
        for first in range(0, len(due), concurrency):
            await asyncio.gather(*(past(i, step) for i in due[first : first + concurrency]))
    return [str(token) for token in tokens]


async def _measure(args: argparse.Namespace, data_dir: Path, db: str | None) -> list[Round]:
    # No rate limit: in-process, requests come faster than any visitor or address may send them.
    settings = Settings(
        data_dir=data_dir, db=db, demo=True, secret="bench", ip_limit=(0.0, 0.0), visitor_limit=(0.0, 0.0)
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        people = returning(args.visitors)
        tokens = await _prime(app, people, args.concurrency)
        sent_at = int(time.time() * 1000)
        back = returning_bodies(people, tokens, sent_at)
        first = new_visitor_bodies(max(200, args.visitors), sent_at)
        bodies = {"returning": back, "new": first, "mixed": mixed(back, first)}[args.load]
        # Bodies in their order, round and round: a visitor's next page comes a whole round later (the abuse guard).
        order, seq = itertools.cycle(bodies), itertools.count()

        async def one() -> None:
            body = next(order).replace(SEQ.encode(), str(next(seq)).encode())
            status, answer = await _post(app, body)
            if status != http.HTTPStatus.OK or b'"vid":"' not in answer:
                raise RuntimeError(f"HTTP {status} {answer[:200]!r}")

        async def requests(count: int) -> None:
            for _ in range(0, count, args.concurrency):
                await asyncio.gather(*(one() for _ in range(args.concurrency)))

        await requests(len(bodies) // 2)  # warm: caches, prepared statements, the hot people
        database = urlsplit(db).path.lstrip("/") if db else None
        profiler = cProfile.Profile() if args.profile else None
        rounds: list[Round] = []
        for _ in range(args.rounds):
            if profiler is not None:
                profiler.enable()
            before, in_database = resource.getrusage(resource.RUSAGE_SELF), postgres_cpu(database)
            await requests(args.requests)
            after = resource.getrusage(resource.RUSAGE_SELF)
            spent = cpu_delta(in_database, postgres_cpu(database))
            if profiler is not None:
                profiler.disable()
            each = 1e6 / args.requests
            user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
            rounds.append(Round(user * each, system * each, spent * each))
        if profiler is not None:
            profiler.dump_stats(args.profile)
        return rounds


async def _run(args: argparse.Namespace, data_dir: Path) -> list[Round]:
    async with own_schema(args.db, "bench_collect") as db:
        return await _measure(args, data_dir, db)


def _median(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.0f} (of {', '.join(f'{v:.0f}' for v in values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("load", choices=["returning", "new", "mixed"])
    parser.add_argument("--db", default=None, help="a PostgreSQL URL: a schema of its own there (default: SQLite)")
    parser.add_argument("--visitors", type=int, default=1000, help="returning visitors primed first")
    parser.add_argument("--requests", type=int, default=2048, help="requests per timed round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight at once (wrk's connections)")
    parser.add_argument("--profile", default=None, help="write a cProfile of the timed rounds to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        # The event loop ``tracker serve`` runs on.
        rounds = uvloop.run(_run(args, Path(data_dir)))
    print(f"/collect {args.load} in-process, CPU-µs a request, median of {args.rounds} rounds:")
    print(f"  server   {_median([r.server for r in rounds])}")
    print(f"    user   {_median([r.user for r in rounds])}, system {_median([r.system for r in rounds])}")
    if args.db:
        print(f"  database {_median([r.database for r in rounds])}")


if __name__ == "__main__":
    main()
