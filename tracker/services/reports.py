"""What the dashboard reports for one site: where people are, what moved this week, what was ignored.

Days and weeks are the reader's (``tz``): "today" starts at their midnight and the week on
their Monday.  Ignored traffic is counted per UTC day where it is recorded
(``services.abuse``), so its days are UTC days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from tracker.domain.facts import STAGES
from tracker.domain.sites import Site
from tracker.services.abuse import INTERNAL
from tracker.store import Queries, Store

ACTIVE_SECONDS = 5 * 60
# The week's top pages and rules read every ledger row of the week: a server computes them at
# most this often per site and week, whoever opens the dashboard (counts stay live).
TOPS_SECONDS = 60.0
# Charts cover two weeks: long enough to see a trend, short enough to read each day.
DAYS = 14
TOP = 8
QUALIFIED = ("mql", "sql")


@dataclass(frozen=True, slots=True)
class Day:
    """One day's counts: stage entries (``mql``, ``sql``) or ignored events (``bot``, ``internal``)."""

    day: date
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class TopPage:
    url: str
    points: float
    people: int


@dataclass(frozen=True, slots=True)
class TopRule:
    rule_id: str
    score: str
    points: float
    times: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    stages: dict[str, int]  # every stage, in funnel order
    today: dict[str, int]  # new MQL and SQL since the reader's midnight
    week: dict[str, int]  # ... since the reader's Monday
    qualified: list[Day]  # MQL and SQL entries per day, the last DAYS days
    active: int  # devices seen in the last ACTIVE_SECONDS
    top_pages: list[TopPage]
    top_rules: list[TopRule]
    ignored: list[Day]  # bot and internal events ignored per UTC day


Tops = tuple[list[TopPage], list[TopRule]]


class WeekTops:
    """The week's top pages and rules per (site, start of week), kept ``TOPS_SECONDS``."""

    def __init__(self, seconds: float = TOPS_SECONDS) -> None:
        self.seconds = seconds
        self._kept: dict[tuple[int, float], tuple[float, Tops]] = {}

    async def read(self, q: Queries, site_id: int, since: float, now: float) -> Tops:
        key = (site_id, since)
        kept = self._kept.get(key)
        if kept is not None and 0 <= now - kept[0] < self.seconds:
            return kept[1]
        tops = await read_tops(q, site_id, since)
        # Only the current weeks are worth keeping: drop what the clock has left behind.
        self._kept = {k: v for k, v in self._kept.items() if now - v[0] < self.seconds}
        self._kept[key] = (now, tops)
        return tops


async def read_tops(q: Queries, site_id: int, since: float) -> Tops:
    pages = [TopPage(*row) for row in await q.top_pages(site_id, since, TOP)]
    return pages, [TopRule(*row) for row in await q.top_rules(site_id, since, TOP)]


def midnight(now: float, tz: tzinfo, days_back: int = 0) -> datetime:
    """The reader's midnight ``days_back`` days before today."""
    local = datetime.fromtimestamp(now, tz).date() - timedelta(days=days_back)
    return datetime(local.year, local.month, local.day, tzinfo=tz)


def week_start(now: float, tz: tzinfo) -> datetime:
    return midnight(now, tz, datetime.fromtimestamp(now, tz).weekday())


async def dashboard(store: Store, site: Site, now: float, tz: tzinfo, tops: WeekTops | None = None) -> Dashboard:
    """The dashboard of ``site`` at ``now`` for a reader in ``tz``; ``tops`` keeps the week's
    top lists between calls (None: read them now)."""
    today = midnight(now, tz)
    week = week_start(now, tz)
    first = midnight(now, tz, DAYS - 1)
    since = min(week, first).timestamp()
    first_utc = (datetime.fromtimestamp(now, UTC).date() - timedelta(days=DAYS - 1)).isoformat()

    async def read(q: Queries) -> Dashboard:
        counts = await q.stage_counts(site.id)
        entries = await q.stage_entries(site.id, QUALIFIED, since)
        ignored = await q.ignored_traffic(site.id, first_utc)
        since_monday = week.timestamp()
        pages, rules = await (tops.read(q, site.id, since_monday, now) if tops else read_tops(q, site.id, since_monday))
        return Dashboard(
            stages={stage: counts.get(stage, 0) for stage in STAGES},
            today=_count(entries, today.timestamp()),
            week=_count(entries, week.timestamp()),
            qualified=_per_day(entries, first, tz),
            active=await q.active_visitors(site.id, now - ACTIVE_SECONDS),
            top_pages=pages,
            top_rules=rules,
            ignored=_ignored_per_day(ignored, date.fromisoformat(first_utc)),
        )

    return await store.read(read)


def _count(entries: list[tuple[str, float]], since: float) -> dict[str, int]:
    return {stage: sum(1 for s, ts in entries if s == stage and ts >= since) for stage in QUALIFIED}


def _per_day(entries: list[tuple[str, float]], first: datetime, tz: tzinfo) -> list[Day]:
    days = [Day(first.date() + timedelta(days=n), dict.fromkeys(QUALIFIED, 0)) for n in range(DAYS)]
    index = {day.day: day for day in days}
    for stage, ts in entries:
        day = index.get(datetime.fromtimestamp(ts, tz).date())
        if day is not None:
            day.counts[stage] += 1
    return days


def _ignored_per_day(rows: list[dict[str, Any]], first: date) -> list[Day]:
    days = [Day(first + timedelta(days=n), {"bot": 0, "internal": 0}) for n in range(DAYS)]
    index = {day.day.isoformat(): day for day in days}
    for row in rows:
        day = index.get(str(row["day"]))
        if day is not None:
            kind = "internal" if row["reason"] == INTERNAL else "bot"
            day.counts[kind] += int(row["events"])
    return days
