"""What-if: a draft programme replayed over a site's stored history, with nothing written.

People are read a page at a time with their events (memory stays bounded whatever the site's
size), each history is replayed through the draft (``domain.rescoring``), and a ``Tally``
compares it with what people have now: stages before and after, who would change stage, the
distribution of every score under both programmes.  A ``ConversionComparison`` sets the
calibration report's conversion-by-band table of the primary score under the current programme
beside the draft's, for the leads of the what-if's period.  A rescore (``services.rescore``) walks
the same pages through the same functions, so both tell the same story.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tracker.domain.calibration.comparison import ConversionComparison
from tracker.domain.calibration.history import LedgerRow
from tracker.domain.facts import STAGES, Event
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.load import Programme, load_programme
from tracker.domain.rescoring import Rescored, Standing, Tally, rescore_history, score_edges
from tracker.domain.scoring import Scoring, current_scores
from tracker.errors import BadRequest, NotFound
from tracker.store import Queries, SiteRecord, Store

# People per read: a page of people and their events is what memory holds at once.
PAGE = 500
# Seconds of replay between two turns of the requests waiting: a what-if shares the event loop with
# ingestion, and a beacon call waits at most this long behind it (or one person's replay, if longer).
SLICE = 0.002
MAX_DAYS = 3650
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class WhatIf:
    site: SiteRecord
    days: int | None  # None: everyone, however long ago they were seen
    version: int  # the active version the draft is compared with
    tally: Tally
    conversion: ConversionComparison | None  # None: neither programme has a score

    def to_json(self) -> dict[str, Any]:
        conversion = None if self.conversion is None else self.conversion.to_json()
        return {
            "site": self.site.key,
            "days": self.days,
            "version": self.version,
            **self.tally.to_json(),
            "conversion": conversion,
        }


def compile_draft(source: str) -> Programme:
    """The draft compiled; a 400 naming the programme's key when it does not."""
    try:
        return load_programme(source)
    except ProgrammeError as exc:
        raise BadRequest(f"the programme does not compile: {exc.where}: {exc.message}", field="programme") from None


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise BadRequest(f"days must be from 1 to {MAX_DAYS}", field="days")
    return days


async def replay_site(
    store: Store, site_id: int, scoring: Scoring, seen_since: float | None = None, page: int = PAGE
) -> AsyncIterator[tuple[Standing, Rescored]]:
    """Every person of the site (seen since ``seen_since``) with its history replayed through ``scoring``."""

    # Events no rule can score change nothing in a replay: not read, not built, not replayed (a site's
    # impressions, clicks and reading time are often a third of its events).
    leave_out = sorted(scoring.unscored_types())

    async def read(q: Queries, after: int) -> tuple[list[Standing], Mapping[int, list[Event]]]:
        people = await q.standings_after(site_id, after, page, seen_since)
        return people, await q.events_by_person([p.id for p in people], leave_out)

    def read_after(after: int) -> asyncio.Task[tuple[list[Standing], Mapping[int, list[Event]]]]:
        return asyncio.ensure_future(store.read(lambda q: read(q, after)))

    # The next page is read while this one is replayed: SQLite's reader works in a thread of its own (PostgreSQL
    # in its own process), so the replay does not wait for it.  Two pages are held at once at most.
    upcoming = read_after(0)
    clock = time.perf_counter
    try:
        while True:
            people, events = await upcoming
            if not people:
                return
            upcoming = read_after(people[-1].id)
            turn = clock()
            for person in people:
                yield person, rescore_history(scoring, person, events.get(person.id, []))
                if clock() - turn >= SLICE:
                    # Replaying is CPU work on the event loop: requests get their turn every few milliseconds.
                    await asyncio.sleep(0)
                    turn = clock()
    finally:
        # A caller that stops early (an error, a closed request) leaves no read behind.
        upcoming.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await upcoming


async def what_if(
    store: Store,
    site_key: str,
    draft: Programme,
    *,
    days: int | None,
    now: float,
    progress: Callable[[int], Awaitable[None]] | None = None,
) -> WhatIf:
    """What publishing ``draft`` and re-scoring would do to the people seen in the last ``days``;
    ``progress`` hears how many people are replayed after every page of them."""
    site, version = await active_version(store, site_key)
    current = load_programme(site.programme)
    tally = Tally.for_scores(score_edges(current.scoring.scores, draft.scoring.scores))
    since = None if days is None else now - days * DAY
    score = current.primary_score or draft.primary_score
    conversion = ConversionComparison.of(
        current.scoring, draft.scoring, score, -math.inf if since is None else since, now
    )
    converted_at: Mapping[int, float] = {}
    if conversion is not None:
        converted_at = await store.read(lambda q: q.first_conversions(site.id, conversion.converting, since))
    async for person, rescored in replay_site(store, site.id, draft.scoring, since):
        before = current_scores(current.scoring, person.scoring, now)
        after = current_scores(draft.scoring, rescored.result.state, now)
        tally.add(person, rescored, before, after)
        # Leads only, as in the calibration report: an anonymous visitor has no outcome to count.
        if conversion is not None and person.stage != STAGES[0]:
            conversion.add(person.id, converted_at.get(person.id), before, after, draft.scoring, rescored.result.ledger)
        if progress is not None and tally.people % PAGE == 0:
            await progress(tally.people)
    if conversion is not None:
        await _count_converters(store, conversion, current.scoring, now)
    return WhatIf(site, days, version, tally, conversion)


async def _count_converters(store: Store, conversion: ConversionComparison, current: Scoring, now: float) -> None:
    """The converters' current scores at their conversion, from the stored ledger a page at a time."""
    waiting = list(conversion.waiting)
    for first in range(0, len(waiting), PAGE):
        page = waiting[first : first + PAGE]

        async def read(q: Queries, page: list[int] = page) -> list[LedgerRow]:
            return await q.ledger_rows_of(page, now)

        conversion.add_stored(current, page, await store.read(read))


async def named(store: Store, summary: Mapping[str, Any]) -> dict[str, Any]:
    """``summary`` with the e-mail of each person it lists, read now (an erased person has none)."""
    listed = summary["people_listed"]
    emails = await store.read(lambda q: q.emails_of([row["id"] for row in listed]))
    return {**summary, "people_listed": [{**row, "email": emails.get(row["id"])} for row in listed]}


async def active_version(store: Store, site_key: str) -> tuple[SiteRecord, int]:
    """The site and the number of its active programme version (404 for an unknown site)."""

    async def read(q: Queries) -> tuple[SiteRecord, int]:
        site = await q.site_by_key(site_key)
        if site is None:
            raise NotFound(f"no site {site_key!r}", field="site")
        latest = await q.latest_programme_version(site.id)
        return site, latest.number if latest is not None else 0

    return await store.read(read)
