"""The calibration reads (tracker.store.calibration_queries): a period's leads with their first
visit, first conversion and stage entries, their ledger and their page views and downloads; and
the same history gives the same report on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tracker.domain.calibration.history import ActionRow, LedgerRow, PersonRow
from tracker.domain.calibration.report import CalibrationReport, Options
from tracker.services.calibration import calibration
from tracker.store import Queries

from .conftest import BACKENDS, START, Clock, Server, backend, running_server
from .test_calibration import DAY, calibration_history


async def test_a_periods_leads_and_their_rows(server: Server) -> None:
    ids = await calibration_history(server)
    site = server.runtime.sites.get("demo")
    assert site is not None
    start, end = START, START + 20 * DAY

    async def read(q: Queries) -> tuple[list[PersonRow], list[LedgerRow], list[ActionRow]]:
        return (
            await q.calibration_people(site.id, start, end, ("won",)),
            await q.calibration_ledger(site.id, start, end),
            await q.calibration_actions(
                [(ids["bruno@example.com"], start, start + 2 * DAY), (ids["ana@example.com"], start + DAY, end)]
            ),
        )

    people, ledger, actions = await server.runtime.store.read(read)
    assert [person.person_id for person in people] == sorted(ids.values())  # the anonymous visitor is no lead
    ana = next(person for person in people if person.person_id == ids["ana@example.com"])
    assert ana.converted_at == START + 5 * DAY and ana.first_seen == START + 3600
    assert set(ana.stages) == {"known", "mql", "sql"}
    chloe = next(person for person in people if person.person_id == ids["chloe@example.com"])
    assert chloe.converted_at is None  # lost is no conversion
    assert {row.person_id for row in ledger} <= set(ids.values())
    assert [(row.rule_id, row.after) for row in ledger if row.person_id == ids["bruno@example.com"]][:2] == [
        ("wp-a", 2.0),
        ("wp-b", 7.0),
    ]
    # Ana's page view and download were on day 0, before her window: only Bruno's, each once.
    bruno = ids["bruno@example.com"]
    assert sorted((a.person_id, a.type, a.url.rsplit("/", 1)[-1], a.times) for a in actions) == [
        (bruno, "download", "livre-blanc-a.pdf", 1),
        (bruno, "download", "livre-blanc-b.pdf", 1),
        (bruno, "page", "controle", 1),
        (bruno, "page", "precision", 1),
        (bruno, "page", "service", 1),
    ]
    later = await server.runtime.store.read(
        lambda q: q.calibration_people(site.id, START + 21 * DAY, START + 25 * DAY, ("won",))
    )
    assert later == []  # nobody did anything then


async def test_a_page_seen_again_in_a_window_is_one_row_with_its_times_and_its_last_time(server: Server) -> None:
    beacon = server.beacon()
    for hour in (1, 2, 30):
        server.clock.now = START + hour * 3600
        await beacon.page("/demo/tarifs")
    person = (await server.person_of(beacon))["id"]
    # The window ends before the third view, and excludes its end.
    actions = await server.runtime.store.read(lambda q: q.calibration_actions([(person, START, START + 30 * 3600)]))
    assert [(a.type, a.url, a.times, a.ts) for a in actions] == [
        ("page", "http://shop.test/demo/tarifs", 2, START + 2 * 3600)
    ]


async def test_the_same_history_gives_the_same_report_on_both_backends(tmp_path: Path) -> None:
    reports: list[CalibrationReport] = []
    for name in BACKENDS:
        async with backend(name) as url, running_server(tmp_path / name, Clock(), url) as server:
            await calibration_history(server)
            site = server.runtime.sites.get("demo")
            assert site is not None
            options = Options(START, START + 20 * DAY, "engagement", 2.0, ("won", "meeting"), 7 * DAY)
            reports.append(await calibration(server.runtime.store, site.id, site.programme, options))
    sqlite, postgresql = reports
    assert sqlite.leads == 7 and sqlite.converted == 4 and sqlite.behaviours
    assert sqlite == postgresql
