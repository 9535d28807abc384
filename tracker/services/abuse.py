"""Abuse resistance: rate limits, bot verdicts, internal traffic, and what ignored traffic counts.

* **Rate limits** are token buckets in process memory, per client address and per
  visitor, checked before any store work; a refused request gets a 429 naming the
  limit, with ``Retry-After``.  Each instance limits on its own: with N instances
  behind a load balancer a client gets up to N times the rate, which still bounds it.
* **Bots** are told by their user agent (crawler lists, headless browsers), by the
  beacon's ``navigator.webdriver`` flag, and by an impossible pace: two page views of
  different pages under 50 ms apart.  A device caught by its pace is flagged in the
  store and what it already recorded is taken back, so bot traffic never moves a score.
* **Internal traffic** comes from the site's own address ranges or from a browser an
  admin marked with a signed ``tk_internal`` cookie (a link from the API sets it).
* Bot and internal traffic is **counted, never stored**: a Prometheus counter by
  reason, and per-site daily totals (``GET /api/ignored-traffic``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import logging
import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request

from tracker.config import Settings
from tracker.domain.devices import device_of
from tracker.domain.facts import STAGE_RANK, Incoming
from tracker.domain.sites import IPAddress, Site
from tracker.errors import HTTPError
from tracker.services import metrics
from tracker.services.rebuild import rebuild_scores
from tracker.services.stages import advance_stage
from tracker.store import Queries, Store

log = logging.getLogger("tracker.abuse")

INTERNAL = "internal"
# Why a device is a bot; also the ``reason`` label of ignored traffic.
BY_USER_AGENT = "user-agent"
BY_HEADLESS = "headless"
BY_WEBDRIVER = "webdriver"
TOO_FAST = "too-fast"
FLAGGED = "flagged"  # a later request of a device caught before
# Two page views of different pages closer than this are no human's.
MIN_PAGE_GAP = 0.05
# A person's devices beyond this many are forgotten, least recently seen first: identify
# with someone's e-mail from endless fresh browsers and their row count still stays put.
MAX_DEVICES = 50
INTERNAL_COOKIE = "tk_internal"
INTERNAL_COOKIE_MAX_AGE = 396 * 86400
INTERNAL_LINK_SECONDS = 7 * 86400
FLUSH_SECONDS = 10.0
# Keys remembered per table (rate buckets, last page views); beyond, the least recently seen go.
MEMORY = 100_000


# ---- rate limits ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    """``per_second`` tokens flow into a bucket holding at most ``burst``; 0 turns the limit off."""

    per_second: float
    burst: float

    @property
    def enabled(self) -> bool:
        return self.per_second > 0 and self.burst >= 1


class TokenBuckets:
    """One token bucket per key; the least recently used are forgotten past ``capacity``.

    A forgotten bucket comes back full, which is what an idle client's would be anyway.
    """

    def __init__(self, rate: Rate, capacity: int = MEMORY) -> None:
        self.rate = rate
        self.capacity = capacity
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)

    def take(self, key: str, now: float) -> float:
        """Spend a token of ``key``: 0.0 if there was one, else the seconds until there is."""
        tokens, at = self._buckets.pop(key, (self.rate.burst, now))
        tokens = min(self.rate.burst, tokens + max(0.0, now - at) * self.rate.per_second)
        wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate.per_second
        self._buckets[key] = (tokens - 1.0 if wait == 0.0 else tokens, now)
        if len(self._buckets) > self.capacity:
            self._buckets.popitem(last=False)
        return wait


class RateLimited(HTTPError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, field: str, retry_after: int) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class RateLimiter:
    """The per-address and per-visitor limits; ``/collect`` and ``/v1/*`` share one per process."""

    def __init__(self, *, visitor: Rate, ip: Rate, capacity: int = MEMORY) -> None:
        self.visitors = TokenBuckets(visitor, capacity) if visitor.enabled else None
        self.addresses = TokenBuckets(ip, capacity) if ip.enabled else None

    def check_address(self, address: IPAddress | None, now: float) -> None:
        """Raise ``RateLimited`` if ``address`` is over its limit.

        Only public addresses are limited: a private or loopback client is a proxy whose
        forwarding is not configured, and limiting it would throttle every visitor at once.
        """
        if self.addresses is not None and address is not None:
            key = _address_key(address)
            if key is not None:
                _spend(self.addresses, key, now, "ip", "this address")

    def check_visitor(self, site_id: int, visitor_id: str, now: float) -> None:
        """Raise ``RateLimited`` if the visitor ``visitor_id`` of the site is over its limit."""
        if self.visitors is not None:
            _spend(self.visitors, f"{site_id}:{visitor_id}", now, "visitor", "this visitor")


def _spend(buckets: TokenBuckets, key: str, now: float, field: str, who: str) -> None:
    wait = buckets.take(key, now)
    if wait > 0.0:
        retry = max(1, math.ceil(wait))
        rate = buckets.rate
        raise RateLimited(
            f"too many requests from {who}: {rate.per_second:g} a second, bursts of {rate.burst:g}; retry in {retry} s",
            field=field,
            retry_after=retry,
        )


@lru_cache(maxsize=8192)
def _address_key(address: IPAddress) -> str | None:
    """The bucket of a public address: itself, or its /64 for IPv6 (one subscriber's whole prefix)."""
    if not address.is_global:
        return None
    if address.version == 6:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@lru_cache(maxsize=8192)
def parse_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def client_address(request: Request, trusted_proxy: bool) -> IPAddress | None:
    """The client's address; behind a trusted proxy, the one it appended to X-Forwarded-For.

    Earlier entries are whatever the client claimed, so only the last one is believed.
    """
    if trusted_proxy:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return parse_address(forwarded.rsplit(",", 1)[-1].strip())
    return parse_address(request.client.host) if request.client else None


# ---- bots -------------------------------------------------------------------------------


def agent_verdict(user_agent: str) -> str | None:
    """Why ``user_agent`` is a bot's (a headless browser, a known crawler or HTTP client), or None."""
    device = device_of(user_agent)
    if not device.is_bot:
        return None
    return BY_HEADLESS if device.headless else BY_USER_AGENT


def page_views(events: Iterable[Incoming]) -> list[tuple[float, str]]:
    """``(time, page)`` of each page view; a fragment change is the same page."""
    return [(event.ts, event.url.split("#", 1)[0]) for event in events if event.type == "page"]


class PageViews:
    """The last page view of recent visitors, to catch an impossible pace across requests.

    Per process: with several instances a bot is caught by the one that sees two of its
    page views in a row, and its device is then flagged in the store for all of them.
    """

    def __init__(self, capacity: int = MEMORY) -> None:
        self.capacity = capacity
        self._last: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def too_fast(self, key: str | None, views: Sequence[tuple[float, str]]) -> bool:
        """Whether ``views``, after the visitor's previous one, hold two different pages under 50 ms apart."""
        previous = self._last.get(key) if key is not None else None
        ordered = sorted([previous, *views] if previous is not None else views)
        return any(b[0] - a[0] < MIN_PAGE_GAP and a[1] != b[1] for a, b in itertools.pairwise(ordered))

    def remember(self, key: str, views: Sequence[tuple[float, str]]) -> None:
        if not views:
            return
        latest = max(views)
        previous = self._last.pop(key, None)
        self._last[key] = latest if previous is None else max(previous, latest)
        if len(self._last) > self.capacity:
            self._last.popitem(last=False)


async def quarantine(q: Queries, site: Site, visitor_id: str, reason: str, now: float) -> int:
    """Flag the device a bot and take back what its events did; returns how many events went.

    The person's scores, ledger and copies are rebuilt from a replay of the events left
    (other devices' events stay scored), stages the bot's events caused are removed and
    the stage is recomputed.  Profile fields and campaign memory are left as they are.
    """
    found = await q.device_and_person(visitor_id, site.id)
    if found is None:
        return 0
    visitor, person = found
    await q.flag_bot(visitor.id, reason)
    removed = await q.forget_device_events(person.id, visitor.num)
    if removed:
        await rebuild_scores(q, site.programme.scoring, person)
        stages = [row["stage"] for row in await q.stages_of(person.id)]
        person.stage = max(stages, key=STAGE_RANK.__getitem__, default="anonymous")
        await advance_stage(q, person, None, now)
        person.updated_at = now
        await q.save_person(person)
    return removed


# ---- internal traffic -------------------------------------------------------------------


class InternalBrowsers:
    """Signed values naming sites: the ``tk_internal`` cookie, and links that set it."""

    def __init__(self, secret: str) -> None:
        self._cookie = URLSafeSerializer(secret, salt="tracker.internal")
        self._link = URLSafeSerializer(secret, salt="tracker.internal-link")

    def sites_of(self, cookie: str | None) -> frozenset[str]:
        if not cookie:
            return frozenset()
        try:
            sites = self._cookie.loads(cookie)
        except BadSignature:
            return frozenset()
        return frozenset(s for s in sites if isinstance(s, str)) if isinstance(sites, list) else frozenset()

    def cookie_for(self, sites: Iterable[str]) -> str:
        return str(self._cookie.dumps(sorted(sites)))

    def link_token(self, site_key: str, expires_at: float) -> str:
        return str(self._link.dumps([site_key, expires_at]))

    def site_of_link(self, token: str, now: float) -> str | None:
        """The site a link token names, if it is genuine and not expired."""
        try:
            site_key, expires_at = self._link.loads(token)
        except (BadSignature, TypeError, ValueError):
            return None
        genuine = isinstance(site_key, str) and isinstance(expires_at, float | int)
        return site_key if genuine and now < expires_at else None


def is_internal(site: Site, address: IPAddress | None) -> bool:
    return address is not None and any(address in network for network in site.internal)


# ---- counting what is ignored -----------------------------------------------------------


class IgnoredTraffic:
    """Bot and internal requests and events per (site, UTC day, reason), until flushed.

    Counting in memory and flushing every few seconds keeps a bot flood from turning
    into one write per request on a single hot row; a crash loses at most the
    counts since the last flush.
    """

    def __init__(self) -> None:
        self._pending: dict[tuple[int, str, str], tuple[int, int]] = {}

    def add(self, site_id: int, reason: str, events: int, now: float) -> None:
        metrics.EVENTS.labels(INTERNAL if reason == INTERNAL else "bot", reason).inc(events)
        key = (site_id, day_of(now), reason)
        requests, counted = self._pending.get(key, (0, 0))
        self._pending[key] = (requests + 1, counted + events)

    async def flush(self, store: Store) -> None:
        pending, self._pending = self._pending, {}
        if not pending:
            return
        rows = [(site, day, reason, requests, events) for (site, day, reason), (requests, events) in pending.items()]
        try:
            await store.write(lambda q: q.add_ignored_traffic(rows))
        except BaseException:
            for site, day, reason, requests, events in rows:  # keep them for the next flush
                before = self._pending.get((site, day, reason), (0, 0))
                self._pending[site, day, reason] = (before[0] + requests, before[1] + events)
            raise

    async def flush_every(self, store: Store, seconds: float = FLUSH_SECONDS) -> None:
        """Flush forever (a background task); the final flush is the caller's, at shutdown."""
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.flush(store)
            except Exception:  # a failed flush keeps its counts; the next one retries
                log.exception("flushing ignored-traffic counts failed")


def day_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


# ---- what request handlers use ----------------------------------------------------------


class Guard:
    """The abuse defences of one process, shared by every ingest route."""

    def __init__(self, settings: Settings, secret: str) -> None:
        self.limiter = RateLimiter(visitor=Rate(*settings.visitor_limit), ip=Rate(*settings.ip_limit))
        self.trusted_proxy = settings.trusted_proxy
        self.pages = PageViews()
        self.internal = InternalBrowsers(secret)
        self.ignored = IgnoredTraffic()

    def check_client(self, request: Request, now: float) -> IPAddress | None:
        """The client's address, once it is known not to be over its rate limit."""
        address = client_address(request, self.trusted_proxy)
        self.limiter.check_address(address, now)
        return address

    def screen(
        self, request: Request, site: Site, address: IPAddress | None, user_agent: str, webdriver: bool
    ) -> str | None:
        """Why the request is to be ignored (internal, or a bot reason); None to track it."""
        if site.key in self.internal.sites_of(request.cookies.get(INTERNAL_COOKIE)) or is_internal(site, address):
            return INTERNAL
        if webdriver:
            return BY_WEBDRIVER
        return agent_verdict(user_agent)


@contextlib.asynccontextmanager
async def counting(guard: Guard, store: Store) -> AsyncIterator[None]:
    """Flush ignored-traffic counts in the background while the app runs, and once at the end."""
    flusher = asyncio.create_task(guard.ignored.flush_every(store), name="ignored-traffic")
    try:
        yield
    finally:
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        await guard.ignored.flush(store)
