"""An open-loop load generator: requests at a fixed offered rate, latency from the scheduled time.

wrk is closed-loop: a slow answer delays the next request, so the slow moments send
fewer requests and p99 looks better than any visitor sees it (coordinated omission).
wrk2 is not packaged, so this client does what it does: request ``i`` is due at
``start + i / rate`` whatever happened before, and its latency runs from that time,
so a stall shows up in every request it delayed.  If all connections are busy, the
next request waits for one and its wait counts.

It must stay cheap next to the server it measures: requests are pre-built raw
HTTP/1.1 bytes written on keep-alive sockets, answers are parsed by httptools (C),
and the loop is uvloop.  Its own CPU is reported; at the half-maximum rates used
here it is a few percent of one core.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import httptools
import uvloop

from .stats import percentiles

SEQ_MARK = b"{{seq}}"


def raw_request(path: str, headers: Mapping[str, str], body: bytes) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + body


class _Connection(asyncio.Protocol):
    """One keep-alive connection; ``answer`` resolves with each response's status."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future[int] | None = None
        self.lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:  # called by httptools
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(self.parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionError("closed by the server")
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(self.lost)

    async def send(self, request: bytes) -> int:
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.answer


@dataclass(slots=True)
class _Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0


async def _port(
    port: int, requests: Sequence[bytes], rate: float, seconds: float, connections: int, start: float, tally: _Tally
) -> None:
    loop = asyncio.get_running_loop()
    count = max(1, int(rate * seconds))
    cursor = iter(range(count))
    deadline = start + seconds + 10.0  # a stalled server ends the run; what is left counts as errors

    async def worker() -> None:
        _, conn = await loop.create_connection(_Connection, "127.0.0.1", port)
        try:
            for index in cursor:
                due = start + index / rate
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                try:
                    status = await asyncio.wait_for(conn.send(requests[index % len(requests)]), deadline - loop.time())
                except (TimeoutError, ConnectionError):
                    tally.errors += 1 + sum(1 for _ in cursor)  # the rest could not be sent in time
                    return
                tally.latencies.append(loop.time() - due)
                tally.statuses[status] = tally.statuses.get(status, 0) + 1
        finally:
            if conn.transport is not None:
                conn.transport.close()

    await asyncio.gather(*(worker() for _ in range(max(1, connections))))


async def _run(
    targets: Sequence[tuple[int, Sequence[bytes]]], rate: float, seconds: float, connections: int
) -> tuple[_Tally, float]:
    tally = _Tally()
    share = rate / len(targets)
    start = asyncio.get_running_loop().time() + 0.2  # connections open before the first request is due
    began = time.monotonic()
    await asyncio.gather(
        *(_port(p, reqs, share, seconds, connections // len(targets), start, tally) for p, reqs in targets)
    )
    return tally, time.monotonic() - began - 0.2


def open_loop(
    targets: Sequence[tuple[int, Sequence[bytes]]], rate: float, seconds: float, connections: int
) -> dict[str, Any]:
    """Offer ``rate`` req/s in total for ``seconds`` (split evenly over ``targets``: port, raw requests)."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    tally, elapsed = uvloop.run(_run(targets, rate, seconds, connections))
    after = resource.getrusage(resource.RUSAGE_SELF)
    done = len(tally.latencies)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "offered_rps": round(rate, 1),
        "achieved_rps": round(done / elapsed, 1) if elapsed > 0 else 0.0,
        "requests": done,
        "errors": tally.errors,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "latency_ms": {k: round(1000 * v, 2) for k, v in percentiles(tally.latencies).items()},
        "client_cpu_pct": round(100 * cpu / elapsed, 1) if elapsed > 0 else 0.0,
    }
