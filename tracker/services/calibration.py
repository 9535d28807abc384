"""The calibration report of a site for a period: read the period's leads, their ledger and the page
views and downloads of each lead's window in one read, then let ``domain.calibration`` do the
statistics."""

from __future__ import annotations

from tracker.domain.calibration.behaviours import action_windows
from tracker.domain.calibration.history import ActionRow, Lead, LedgerRow, leads_of
from tracker.domain.calibration.report import CalibrationReport, Options, calibration_report
from tracker.domain.programme.load import Programme
from tracker.store import Queries, Store

Rows = tuple[list[Lead], list[LedgerRow], list[ActionRow]]


async def calibration(store: Store, site_id: int, programme: Programme, options: Options) -> CalibrationReport:
    async def read(q: Queries) -> Rows:
        people = await q.calibration_people(site_id, options.start, options.end, options.converting)
        ledger = await q.calibration_ledger(site_id, options.start, options.end)
        leads = leads_of(people, ledger, programme.scoring, options.start, options.end)
        # Each lead's window only (a converter's may open before the period does).
        actions = await q.calibration_actions(action_windows(leads, options.window))
        return leads, ledger, actions

    leads, ledger, actions = await store.read(read)
    return calibration_report(programme.scoring, options, leads, ledger, actions, programme.grade)
