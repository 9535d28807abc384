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

On a shared machine the CPU a request takes moves by tens of per cent from one minute to the next, more
than most changes are worth.  ``--ab FILE`` compares two set-ups in one process on one store instead:
FILE defines ``use_a(app)`` and ``use_b(app)``, which put one or the other in place (e.g. the function
before and after a change, the old one loaded from ``git show``); batches of ``--batch`` requests alternate
between them (a then b, then b then a…) for ``--pairs`` pairs, and it prints each side's median and the
median of the pairs' ratios b ÷ a, which the machine's drift moves very little (a file whose two set-ups are
the same gives 1.00 ± 0.03).

    python -m bench.collect_cpu returning --ab variants.py [--pairs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import http
import importlib.util
import itertools
import resource
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class Measured:
    rounds: list[Round] = field(default_factory=list)
    pairs: list[tuple[float, float]] = field(default_factory=list)  # --ab: CPU-µs a request of a and of b


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


async def _measure(args: argparse.Namespace, data_dir: Path, db: str | None) -> Measured:
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
        if args.ab:
            return Measured(pairs=await _pairs(app, args, requests))
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
        return Measured(rounds=rounds)


async def _pairs(
    app: ASGIApp, args: argparse.Namespace, requests: Callable[[int], Awaitable[None]]
) -> list[tuple[float, float]]:
    """``--ab``: CPU-µs a request of set-up a and of set-up b, batch after batch, in alternating order."""
    spec = importlib.util.spec_from_file_location("ab_variants", args.ab)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {args.ab}")
    variants = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(variants)
    sides: tuple[Callable[[ASGIApp], None], Callable[[ASGIApp], None]] = (variants.use_a, variants.use_b)
    pairs: list[tuple[float, float]] = []
    for index in range(args.pairs):
        spent = [0.0, 0.0]
        for side in (0, 1) if index % 2 == 0 else (1, 0):
            sides[side](app)
            started = time.process_time()
            await requests(args.batch)
            spent[side] = 1e6 * (time.process_time() - started) / args.batch
        pairs.append((spent[0], spent[1]))
    return pairs


async def _run(args: argparse.Namespace, data_dir: Path) -> Measured:
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
    parser.add_argument("--ab", default=None, help="a file defining use_a(app) and use_b(app): compare them")
    parser.add_argument("--pairs", type=int, default=30, help="--ab: batches of each set-up")
    parser.add_argument("--batch", type=int, default=256, help="--ab: requests per batch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        # The event loop ``tracker serve`` runs on.
        measured = uvloop.run(_run(args, Path(data_dir)))
    if measured.pairs:
        a, b = zip(*measured.pairs, strict=True)
        ratio = statistics.median(after / before for before, after in measured.pairs)
        print(f"/collect {args.load} in-process, CPU-µs a request, {args.pairs} pairs of {args.batch}-request batches:")
        print(f"  a {statistics.median(a):.0f}, b {statistics.median(b):.0f}; b ÷ a, median of the pairs: {ratio:.3f}")
        return
    rounds = measured.rounds
    print(f"/collect {args.load} in-process, CPU-µs a request, median of {args.rounds} rounds:")
    print(f"  server   {_median([r.server for r in rounds])}")
    print(f"    user   {_median([r.user for r in rounds])}, system {_median([r.system for r in rounds])}")
    if args.db:
        print(f"  database {_median([r.database for r in rounds])}")


if __name__ == "__main__":
    main()
