"""Write a simulated history (``domain.simulation``) into a site, through the ingest pipeline.

Every request goes through ``services.ingest.process`` exactly as a beacon request does
(identity, merges across devices, scoring, stages, routing, decisions); only the HTTP
envelope is skipped.  The abuse defences of ``web.collect`` screen them first: crawlers are
told by their user agent and counted, never stored; a scraper is caught by its pace and its
device quarantined.  Sales outcomes are stored by ``services.outcomes.store_outcome``, as
the console records them.  Requests are written in units of ``BATCH``: a big history does
not hold the database's writer for minutes, and says how far it got.

``simulate`` returns the ``Truth`` the history was generated from, for calibration tests
and reports to be checked against.
"""

from __future__ import annotations

import base64
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tracker.domain.devices import device_of
from tracker.domain.planted import Plan, Truth
from tracker.domain.simulation import DAYS, PEOPLE, SEED, Hit, Ignored, Sale, Simulation, generate
from tracker.domain.sites import Site
from tracker.services.abuse import FLAGGED, INTERNAL, TOO_FAST, PageViews, agent_verdict, day_of, page_views, quarantine
from tracker.services.ingest import process
from tracker.services.outcomes import store_outcome
from tracker.store import Queries, Store

BATCH = 2000  # requests and outcomes per write unit
ACTOR = "simulate"  # who the audit log says recorded the outcomes
Progress = Callable[[int, int], None]  # (items written, items in all)


async def simulate(
    store: Store,
    site: Site,
    plan: Plan,
    *,
    now: float,
    seed: int = SEED,
    people: int = PEOPLE,
    days: int = DAYS,
    batch: int | None = BATCH,
    progress: Progress | None = None,
) -> Truth:
    """Generate ``people`` over the ``days`` before ``now`` from ``plan`` and write them into ``site``.

    ``batch=None`` writes everything in one unit: all or nothing.
    """
    simulation = generate(now, plan, people=people, days=days, seed=seed)
    await replay(store, site, simulation, seed=seed, batch=batch, progress=progress)
    return simulation.truth


async def replay(
    store: Store,
    site: Site,
    simulation: Simulation,
    *,
    seed: int,
    batch: int | None = BATCH,
    progress: Progress | None = None,
) -> None:
    items = simulation.items
    size = batch or len(items)
    visitors: dict[str, str] = {}  # device key → visitor id, as committed
    pages = PageViews()
    ignored = Ignoring.screened(simulation.ignored)
    for start in range(0, len(items), size):
        # The last unit also writes what was ignored: with ``batch=None`` the history is all or nothing.
        counted = ignored if start + size >= len(items) else None
        unit = _unit(site, items[start : start + size], visitors, pages, f"{seed}:{start}", counted)
        visitors, caught = await store.write(unit)
        ignored = ignored.plus(caught)
        if progress is not None:
            progress(min(start + size, len(items)), len(items))


def _unit(
    site: Site,
    chunk: list[Hit | Sale],
    visitors: dict[str, str],
    pages: PageViews,
    ids_seed: str,
    ignored: Ignoring | None,
) -> Callable[[Queries], Awaitable[Replayed]]:
    """Write ``chunk``; the unit returns the device keys' visitor ids and what it ignored.

    A unit may run more than once before it commits: it works on copies, and draws visitor
    ids from a generator of its own so a second run draws the same.  The pace memory
    (``pages``) is shared: a second run only finds in it page views of the same requests,
    which never make a human's pace look faster than it was.
    """

    async def unit(q: Queries) -> Replayed:
        known, caught = dict(visitors), Ignoring()
        ids = _visitor_ids(random.Random(ids_seed))
        for item in chunk:
            if isinstance(item, Sale):
                await _record_sale(q, site, item)
                continue
            reason = await _request(q, site, item, known, pages, ids)
            if reason is not None:
                caught.add(item.ts, reason, len(item.steps))
        if ignored is not None:
            await q.add_ignored_traffic(ignored.plus(caught).rows(site.id))
        return known, caught

    return unit


@dataclass(frozen=True, slots=True)
class Ignoring:
    """Requests and events ignored per (UTC day, reason), as ``web.collect`` counts them."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    events: Counter[tuple[str, str]] = field(default_factory=Counter)

    @classmethod
    def screened(cls, ignored: list[Ignored]) -> Ignoring:
        """Crawlers (told by their user agent) and the team's own requests."""
        counts = cls()
        for request in ignored:
            reason = INTERNAL if request.agent is None else agent_verdict(request.agent)
            if reason is not None:
                counts.add(request.ts, reason, request.events)
        return counts

    def add(self, ts: float, reason: str, events: int) -> None:
        self.requests[day_of(ts), reason] += 1
        self.events[day_of(ts), reason] += events

    def plus(self, other: Ignoring) -> Ignoring:
        return Ignoring(self.requests + other.requests, self.events + other.events)

    def rows(self, site_id: int) -> list[tuple[int, str, str, int, int]]:
        return [(site_id, day, reason, n, self.events[day, reason]) for (day, reason), n in self.requests.items()]


Replayed = tuple[dict[str, str], Ignoring]


async def _request(
    q: Queries, site: Site, hit: Hit, known: dict[str, str], pages: PageViews, ids: Callable[[], str]
) -> str | None:
    """Process one request as ``web.collect`` does; why it was ignored, or None."""
    visitor_id = known.get(hit.device)
    events = hit.events()
    views = page_views(events)
    if pages.too_fast(visitor_id, views):
        if visitor_id is not None:
            await quarantine(q, site, visitor_id, TOO_FAST, hit.ts)
        return TOO_FAST
    outcome = await process(q, site, visitor_id, events, device_of(hit.agent), hit.ts, ids)
    if outcome.bot is not None:
        return FLAGGED
    pages.remember(outcome.visitor_id, views)
    known[hit.device] = outcome.visitor_id
    return None


async def _record_sale(q: Queries, site: Site, sale: Sale) -> None:
    person = await q.person_by_email(site.id, sale.email)
    if person is not None:  # always, unless the site's data was erased meanwhile
        await store_outcome(q, site, person.id, sale.outcome, actor=ACTOR, now=sale.ts)


def _visitor_ids(rng: random.Random) -> Callable[[], str]:
    """Deterministic ids shaped like ``runtime.new_visitor_id``'s."""
    return lambda: base64.urlsafe_b64encode(rng.randbytes(16)).rstrip(b"=").decode()
