"""services.reports: the dashboard's numbers from the store, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tracker.domain.sites import Site
from tracker.services.abuse import BY_USER_AGENT, INTERNAL, TOO_FAST
from tracker.services.reports import DAYS, TOPS_SECONDS, WeekTops, dashboard, midnight, week_start

from .conftest import SEED_GRID, START, Server
from .test_ingest import marc_journey

PARIS = ZoneInfo("Europe/Paris")
TOKYO = ZoneInfo("Asia/Tokyo")


def demo(server: Server, key: str = "demo") -> Site:
    site = server.runtime.sites.get(key)
    assert site is not None
    return site


async def capucine(server: Server) -> None:
    b = server.beacon()
    await b.form("newsletter", email="capucine@example.com")
    await b.download("/demo/files/livre-blanc-c.pdf")
    for slug in ("a", "b", "c"):
        await b.page(f"/demo/blog/qualite/{slug}")


def test_days_and_weeks_are_the_readers() -> None:
    # 2026-01-01T00:00Z is a Thursday; in Tokyo it is already 09:00 that day, in Paris 01:00.
    assert midnight(START, UTC).timestamp() == START
    assert midnight(START, TOKYO) == datetime(2026, 1, 1, tzinfo=TOKYO)
    assert week_start(START, PARIS) == datetime(2025, 12, 29, tzinfo=PARIS)
    assert midnight(START - 60, PARIS).date() == date(2026, 1, 1)  # 00:59 in Paris
    assert midnight(START - 60, UTC).date() == date(2025, 12, 31)


async def test_counts_per_stage_and_new_qualified_leads(server: Server) -> None:
    await server.beacon().page("/demo/")  # anonymous
    elodie = server.beacon()
    await elodie.download("/demo/files/livre-blanc-b.pdf")
    await elodie.form("newsletter", email="elodie@example.com")
    server.clock.advance(-2 * 86400)  # Capucine qualified on Tuesday 30 December
    await capucine(server)
    server.clock.advance(2 * 86400)
    await marc_journey(server)
    report = await dashboard(server.runtime.store, demo(server), server.clock(), UTC)
    assert report.stages == {"anonymous": 1, "known": 1, "mql": 0, "sql": 2}
    assert report.today == {"mql": 1, "sql": 1}  # Marc
    assert report.week == {"mql": 2, "sql": 2}  # the week started on Monday 29 December
    both, none = {"mql": 1, "sql": 1}, {"mql": 0, "sql": 0}
    assert [d.counts for d in report.qualified[-3:]] == [both, none, both]
    assert len(report.qualified) == DAYS and report.qualified[-1].day == date(2026, 1, 1)
    # Another site's leads are not this one's.
    await server.load_programme(SEED_GRID, site="other")
    other = await dashboard(server.runtime.store, demo(server, "other"), server.clock(), UTC)
    assert other.stages == {"anonymous": 0, "known": 0, "mql": 0, "sql": 0} and other.week == {"mql": 0, "sql": 0}


async def test_this_week_in_the_readers_time_zone(server: Server) -> None:
    # Marc qualifies on Sunday 28 December at 14:30 UTC, 23:30 in Tokyo.  At 16:00 UTC it is
    # still that Sunday in UTC, and already Monday (a new week) in Tokyo.
    server.clock.now = datetime(2025, 12, 28, 14, 30, tzinfo=UTC).timestamp()
    await marc_journey(server)
    server.clock.now = datetime(2025, 12, 28, 16, 0, tzinfo=UTC).timestamp()
    utc = await dashboard(server.runtime.store, demo(server), server.clock(), UTC)
    tokyo = await dashboard(server.runtime.store, demo(server), server.clock(), TOKYO)
    assert (utc.today, utc.week) == ({"mql": 1, "sql": 1}, {"mql": 1, "sql": 1})
    assert (tokyo.today, tokyo.week) == ({"mql": 0, "sql": 0}, {"mql": 0, "sql": 0})
    # Tokyo's chart puts him on its Sunday, the day before its today.
    assert [(day.day, day.counts["sql"]) for day in tokyo.qualified[-2:]] == [
        (date(2025, 12, 28), 1),
        (date(2025, 12, 29), 0),
    ]
    assert utc.qualified[-1].day == date(2025, 12, 28) and utc.qualified[-1].counts["sql"] == 1


async def test_top_pages_and_rules_this_week(server: Server) -> None:
    server.clock.advance(-7 * 86400)  # last week: counts for nothing now
    await server.beacon().download("/demo/files/livre-blanc-c.pdf")
    server.clock.advance(7 * 86400)
    await marc_journey(server)
    jo = server.beacon()
    await jo.page("/demo/emplois")  # negative points never top anything
    await jo.page("/demo/blog/qualite/controle", title="Contrôle")  # one page, whichever its title
    report = await dashboard(server.runtime.store, demo(server), server.clock(), UTC)
    pages = {(page.url, page.points, page.people) for page in report.top_pages}
    assert pages == {
        ("http://shop.test/demo/files/livre-blanc-b.pdf", 5.0, 1),
        ("http://shop.test/demo/files/livre-blanc-a.pdf", 2.0, 1),
        ("http://shop.test/demo/blog/qualite/controle", 4.0, 2),
        ("http://shop.test/demo/blog/qualite/precision", 2.0, 1),
        ("http://shop.test/demo/blog/qualite/service", 2.0, 1),
    }
    assert report.top_pages[0].url.endswith("livre-blanc-b.pdf")
    rules = [(rule.rule_id, rule.score, rule.points, rule.times) for rule in report.top_rules]
    assert rules == [
        ("quality-blog", "engagement", 8.0, 4),
        ("wp-b", "engagement", 5.0, 1),
        ("wp-a", "engagement", 2.0, 1),
    ]


async def test_active_visitors_leave_bots_out(server: Server) -> None:
    await server.beacon().page("/demo/")
    await server.beacon().page("/demo/tarifs")
    await server.runtime.store.write(lambda q: q.flag_bot("visitor-2", TOO_FAST))  # caught after its page
    report = await dashboard(server.runtime.store, demo(server), server.clock(), UTC)
    assert report.active == 1
    server.clock.advance(301)
    assert (await dashboard(server.runtime.store, demo(server), server.clock(), UTC)).active == 0


async def test_ignored_traffic_per_utc_day_over_two_weeks(server: Server) -> None:
    site = demo(server)
    rows = [
        (site.id, "2025-12-18", BY_USER_AGENT, 1, 100),  # one day before the fortnight
        (site.id, "2025-12-19", BY_USER_AGENT, 2, 3),
        (site.id, "2025-12-19", TOO_FAST, 1, 4),
        (site.id, "2026-01-01", INTERNAL, 5, 6),
    ]
    await server.runtime.store.write(lambda q: q.add_ignored_traffic(rows))
    report = await dashboard(server.runtime.store, site, server.clock(), TOKYO)
    assert report.ignored[0].day == date(2025, 12, 19) and report.ignored[-1].day == date(2026, 1, 1)
    assert report.ignored[0].counts == {"bot": 7, "internal": 0}
    assert report.ignored[-1].counts == {"bot": 0, "internal": 6}
    assert sum(sum(day.counts.values()) for day in report.ignored) == 13


async def test_the_weeks_top_lists_are_kept_a_minute(server: Server) -> None:
    tops = WeekTops()
    await server.beacon().download("/demo/files/livre-blanc-b.pdf")
    first = await dashboard(server.runtime.store, demo(server), server.clock(), UTC, tops)
    await server.beacon().download("/demo/files/livre-blanc-c.pdf")
    server.clock.advance(TOPS_SECONDS - 1)
    kept = await dashboard(server.runtime.store, demo(server), server.clock(), UTC, tops)
    assert [rule.rule_id for rule in kept.top_rules] == [rule.rule_id for rule in first.top_rules] == ["wp-b"]
    assert kept.stages["anonymous"] == 2  # the counts are live
    server.clock.advance(1)
    fresh = await dashboard(server.runtime.store, demo(server), server.clock(), UTC, tops)
    assert [rule.rule_id for rule in fresh.top_rules] == ["wp-c", "wp-b"]
