"""The calibration report of a site for a period: read the period's leads, then their ledger and the
page views and downloads of each lead's window, then let ``domain.calibration`` do the statistics."""

from __future__ import annotations

import asyncio

from tracker.domain.calibration.behaviours import action_windows
from tracker.domain.calibration.history import leads_of
from tracker.domain.calibration.report import CalibrationReport, Options, calibration_report
from tracker.domain.programme.load import Programme
from tracker.store import Store


async def calibration(store: Store, site_id: int, programme: Programme, options: Options) -> CalibrationReport:
    start, end = options.start, options.end
    people = await store.read(lambda q: q.calibration_people(site_id, start, end, options.converting))
    # Each lead's window only (a converter's may open before the period does).
    windows = action_windows(people, start, end, options.window)
    # Two reads of their own rather than one: each runs on a connection of its own (SQLite's readers are
    # threads, PostgreSQL's backends processes), at once, and the report waits for the longer only.
    ledger, actions = await asyncio.gather(
        store.read(lambda q: q.calibration_ledger(site_id, start, end)),
        store.read(lambda q: q.calibration_actions(windows)),
    )
    leads = leads_of(people, ledger, programme.scoring, start, end)
    return calibration_report(programme.scoring, options, leads, ledger, actions, programme.grade)
