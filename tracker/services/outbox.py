"""The durable webhook outbox: announcements written with the change, delivered by a loop.

``announce`` runs inside the write unit that makes a change (a stage reached, a
merge, a routing…) and adds one row per subscription to ``webhook_outbox``, so an
announcement is committed exactly when its change is, and nothing is sent from the
request that caused it.  One ``Deliverer`` per process then:

1. claims due rows in a short transaction: each claimed row counts one more attempt
   and is hidden for a lease (on PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets several
   instances claim side by side; SQLite's single writer serialises claims);
2. builds each payload (``render``: the person as they are now) and POSTs it, signed;
3. records the outcome: delivered, or due again after an exponential backoff with
   jitter, or dead once the attempts are spent.

A process that dies between claim and outcome leaves rows whose lease runs out: the
next claim (after a restart, or on another instance) sends them again.  Delivery is
therefore at least once; receivers deduplicate on ``Tracker-Delivery``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx
import orjson

from tracker.store import Queries, Store

log = logging.getLogger("tracker.outbox")

EVENTS: tuple[str, ...] = (
    "person.identified",
    "person.stage_changed",
    "person.merged",
    "person.routed",
    "score.threshold_crossed",
    "campaign.converted",
    "person.outcome",
    "account.stage_changed",
    "account.score_crossed",
)
# The person id of an account's announcements: they concern a company, not one person (ids start at 1).
# Their ``data`` names the account; the payload is the account as it is at delivery.
NO_PERSON = 0
SIGNATURE_HEADER = "Tracker-Signature"
# A receiver refuses a signature older (or newer) than this: a captured request cannot be replayed later.
REPLAY_WINDOW = 300.0
DEFAULT_ATTEMPTS = 8
DEFAULT_BACKOFF = 30.0
# With the defaults, 8 attempts span about an hour; no single wait exceeds this.
MAX_BACKOFF = 6 * 3600.0
TIMEOUT = 10.0
BATCH = 20
# Delivered rows are kept this long for inspection and re-sending, then forgotten.
KEEP_DELIVERED = 30 * 86400.0
PRUNE_EVERY = 3600.0
USER_AGENT = "tracker-webhooks/1"

# A claimed delivery in, the body to send out (None: the person is gone, drop the row).
Render = Callable[[Queries, Mapping[str, Any]], Awaitable[bytes | None]]


async def announce(
    q: Queries,
    site_id: int,
    person_id: int,
    signals: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    occurred_at: float,
    now: float,
) -> None:
    """Queue ``(event, data)`` signals for every subscription of the site that wants them."""
    hooks = await q.webhooks(site_id)
    await q.enqueue_deliveries(
        (site_id, hook["id"], person_id, event, orjson.dumps(data).decode(), occurred_at, now)
        for hook in hooks
        for event, data in signals
        if event in hook["events"]
    )


# ---------------------------------------------------------------------------
# Signing


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Tracker-Signature`` value: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: float, window: float = REPLAY_WINDOW) -> bool:
    """What a receiver does: the signature matches the body and is at most ``window`` seconds off."""
    pairs = [item.strip().partition("=") for item in header.split(",")]
    stamps = [value for key, _, value in pairs if key == "t"]
    if len(stamps) != 1 or not (stamps[0].isascii() and stamps[0].isdigit()) or abs(now - int(stamps[0])) > window:
        return False
    expected = sign(secret, int(stamps[0]), body).rpartition("=")[2]
    return any(key == "v1" and hmac.compare_digest(value, expected) for key, _, value in pairs)


def headers(secret: str, body: bytes, timestamp: int, event: str, delivery_id: int, attempt: int) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        "Tracker-Event": event,
        "Tracker-Delivery": str(delivery_id),
        "Tracker-Attempt": str(attempt),
    }


async def post(client: httpx.AsyncClient, url: str, body: bytes, sent: Mapping[str, str]) -> tuple[int | None, str]:
    """POST ``body``; the HTTP status (None if none came back) and what went wrong ("" for a 2xx)."""
    try:
        response = await client.post(url, content=body, headers=dict(sent))
    except Exception as exc:  # network, TLS, a URL httpx or IDNA refuses: this delivery failed, not the batch
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"


def backoff(attempt: int, base: float, jitter: float) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1, 2, …): ``base·2^(attempt-1)``, capped,
    scaled by ``0.5 + jitter/2`` so receivers recovering from an outage are not hit in lockstep."""
    return min(MAX_BACKOFF, base * 2.0 ** (attempt - 1)) * (0.5 + jitter / 2)


# ---------------------------------------------------------------------------
# Delivering


class Deliverer:
    """The per-process delivery loop; ``run_once`` is also what tests and ``wake`` drive."""

    def __init__(
        self,
        store: Store,
        render: Render,
        *,
        clock: Callable[[], float],
        attempts: int = DEFAULT_ATTEMPTS,
        base: float = DEFAULT_BACKOFF,
        poll: float = 1.0,
        batch: int = BATCH,
        timeout: float = TIMEOUT,
        jitter: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.render = render
        self.clock = clock
        self.attempts = attempts
        self.base = base
        self.poll = poll
        self.batch = batch
        self.timeout = timeout
        # Longer than a batch can take (one subscription's rows are sent one by one), so a live
        # deliverer always settles its rows before anyone else may claim them again.
        self.lease = (batch + 1) * timeout
        self.jitter = jitter
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        # One batch at a time per process: the loop and explicit run_once calls never overlap.
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._pruned_at = float("-inf")

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout, transport=self._transport, follow_redirects=False)
        if self.poll > 0:
            self._task = asyncio.create_task(self._loop(), name="webhook-outbox")

    async def stop(self) -> None:
        """Let the batch in flight finish (at most one timeout), then stop; unsent rows stay queued."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, self.timeout + 1)
            except TimeoutError:
                log.warning("webhook deliveries still in flight at shutdown; they will be sent again")
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """Deliver now rather than at the next poll (after a resend, for instance)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim, send and settle one batch of due deliveries; how many were attempted."""
        async with self._lock:
            return await self._deliver_due()

    async def _loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)
            self._wake.clear()
            try:
                while not self._stopping and await self.run_once() == self.batch:
                    pass  # a full batch: more may be due
                await self._prune()
            except Exception:  # a failed round must not end the loop; the next one retries
                log.exception("delivering webhooks failed")

    async def _prune(self) -> None:
        now = self.clock()
        if now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            await self.store.write(lambda q: q.prune_deliveries(now - KEEP_DELIVERED))

    async def _deliver_due(self) -> int:
        if self._client is None:
            raise RuntimeError("the deliverer is not started")
        client = self._client
        now = self.clock()
        # A read first: an idle outbox costs no write transaction (SQLite has one writer).
        if not await self.store.read(lambda q: q.has_due_deliveries(now)):
            return 0
        claimed = await self.store.write(lambda q: q.claim_deliveries(now, now + self.lease, self.batch))
        if not claimed:
            return 0
        bodies = await self.store.read(lambda q: self._render_all(q, claimed))
        timestamp = int(self.clock())

        outcomes: dict[int, tuple[int | None, str]] = {}

        async def send_in_order(subscription: list[tuple[Mapping[str, Any], bytes | str | None]]) -> None:
            # One subscription's deliveries go one after the other, oldest first, so a receiver
            # sees mql before sql while nothing fails; subscriptions are served side by side.
            for delivery, body in subscription:
                if not isinstance(body, bytes):
                    outcomes[delivery["id"]] = (None, body or "")
                    continue
                sent = headers(
                    delivery["secret"], body, timestamp, delivery["event"], delivery["id"], delivery["attempts"]
                )
                outcomes[delivery["id"]] = await post(client, delivery["url"], body, sent)

        by_subscription: dict[int, list[tuple[Mapping[str, Any], bytes | str | None]]] = {}
        for delivery, body in sorted(zip(claimed, bodies, strict=True), key=lambda pair: pair[0]["id"]):
            by_subscription.setdefault(delivery["webhook_id"], []).append((delivery, body))
        await asyncio.gather(*(send_in_order(subscription) for subscription in by_subscription.values()))
        await self._settle(claimed, bodies, [outcomes[delivery["id"]] for delivery in claimed])
        return len(claimed)

    async def _render_all(self, q: Queries, claimed: Sequence[Mapping[str, Any]]) -> list[bytes | str | None]:
        """Each delivery's body, None to drop it, or why it could not be built (then it is retried)."""
        bodies: list[bytes | str | None] = []
        for delivery in claimed:
            try:
                bodies.append(await self.render(q, delivery))
            except Exception as exc:  # one bad row must not hold up the others
                log.exception("building webhook delivery %s failed", delivery["id"])
                bodies.append(f"payload: {type(exc).__name__}: {exc}"[:500])
        return bodies

    async def _settle(
        self,
        claimed: Sequence[Mapping[str, Any]],
        bodies: Sequence[bytes | str | None],
        outcomes: Sequence[tuple[int | None, str]],
    ) -> None:
        now = self.clock()
        delivered: list[tuple[int, float, int]] = []
        failed: list[tuple[int, bool, float, int | None, str]] = []
        dropped: list[int] = []
        for delivery, body, (status, error) in zip(claimed, bodies, outcomes, strict=True):
            if body is None:
                dropped.append(delivery["id"])
            elif not error and status is not None:
                delivered.append((delivery["id"], now, status))
            else:
                dead = delivery["attempts"] >= self.attempts
                due = now + backoff(delivery["attempts"], self.base, self.jitter())
                failed.append((delivery["id"], dead, due, status, error))
                if dead:
                    log.warning(
                        "webhook delivery %s is dead after %s attempts: %s", delivery["id"], self.attempts, error
                    )

        async def unit(q: Queries) -> None:
            await q.mark_delivered(delivered)
            await q.mark_failed(failed)
            await q.drop_deliveries(dropped)

        await self.store.write(unit)
