"""CPU per event of Segment's ``/v1/batch``, in-process: the app called through ASGI, no sockets.

The bench's HTTP case (``cases.batch_case``) counts events a second through uvicorn on a shared
machine; this one counts the process's CPU time per event (``time.process_time``, every thread:
COMMIT's fsync thread and SQLite's readers included) and, on PostgreSQL, that of the database's
processes (``servers.postgres_cpu``), so a change to the ingest path can be measured in a few
seconds and profiled.  Bodies are the HTTP case's (``traffic.segment_batch_body``): 100 events
from as many ``anonymousId``s of ``--visitors``, each request sent by one of ``--concurrency``
clients at once so that group commits hold several requests, as under wrk.

    python -m bench.batch_cpu [--db postgresql://…] [--batches 120] [--rounds 3] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tracker.app import create_app
from tracker.config import Settings
from tracker.domain.keys import digest, new_key

from .cases import BATCH_SIZE
from .own_schema import own_schema
from .servers import cpu_delta, postgres_cpu
from .traffic import SEGMENT_PATH, SEQ, segment_batch_body, segment_headers

_TEMPLATES = 32


async def _run(args: argparse.Namespace, data_dir: Path) -> list[tuple[float, float]]:
    async with own_schema(args.db, "bench_batch") as db:
        return await _measure(args, data_dir, db)


async def _measure(args: argparse.Namespace, data_dir: Path, db: str | None) -> list[tuple[float, float]]:
    settings = Settings(data_dir=data_dir, db=db, demo=True, secret="bench", ip_limit=(0.0, 0.0))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        key = new_key()
        site = await runtime.store.read(lambda q: q.site_by_key("demo"))
        await runtime.store.write(lambda q: q.insert_api_key(site.id, "ingest", "bench", digest(key), 0.0))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        templates = [segment_batch_body(key, i, BATCH_SIZE, args.visitors, stamp) for i in range(_TEMPLATES)]
        seq = itertools.count()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:

            async def send(n: int) -> None:
                body = templates[n % _TEMPLATES].replace(SEQ.encode(), str(next(seq)).encode())
                response = await http.post(SEGMENT_PATH, content=body, headers=segment_headers(key))
                assert response.status_code == 200 and f'"accepted":{BATCH_SIZE}' in response.text, response.text

            async def batches(count: int) -> None:
                for start in range(0, count, args.concurrency):
                    await asyncio.gather(*(send(n) for n in range(start, min(count, start + args.concurrency))))

            # Every visitor seen first (new people), then again until the HTTP case's steady state, where
            # scores crossing their thresholds are rare: the timed rounds see returning visitors.
            await batches(args.warmup * args.visitors // BATCH_SIZE)
            per_event: list[tuple[float, float]] = []
            profiler = cProfile.Profile() if args.profile else None
            database = urlsplit(db).path.lstrip("/") if db else None
            for _ in range(args.rounds):
                if profiler is not None:
                    profiler.enable()
                began, in_database = time.process_time(), postgres_cpu(database)
                await batches(args.batches)
                spent = time.process_time() - began, cpu_delta(in_database, postgres_cpu(database))
                per_event.append(
                    (spent[0] / (args.batches * BATCH_SIZE) * 1e6, spent[1] / (args.batches * BATCH_SIZE) * 1e6)
                )
                if profiler is not None:
                    profiler.disable()
            if profiler is not None:
                profiler.dump_stats(args.profile)
            return per_event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        default=None,
        help="a PostgreSQL URL: a schema of its own there (default: SQLite in a temporary directory)",
    )
    parser.add_argument("--visitors", type=int, default=1000, help="anonymousIds the batches cycle through")
    parser.add_argument("--batches", type=int, default=120, help="batches of 100 events per timed round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=5, help="times every visitor is seen before the timed rounds")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once (the HTTP case's)")
    parser.add_argument("--profile", default=None, help="write a cProfile of the timed rounds to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        per_event = asyncio.run(_run(args, Path(data_dir)))
    for name, values in (("tracker", [r[0] for r in per_event]), ("PostgreSQL", [r[1] for r in per_event])):
        if args.db or name == "tracker":
            rounds = ", ".join(f"{v:.1f}" for v in values)
            print(f"/v1/batch in-process, {name}: {statistics.median(values):.1f} CPU-µs/event (median of [{rounds}])")


if __name__ == "__main__":
    main()
