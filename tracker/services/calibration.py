"""The calibration report of a site for a period: read the period's leads, ledger and actions in
one read, then let ``domain.calibration`` do the statistics."""

from __future__ import annotations

from tracker.domain.calibration.history import ActionRow, LedgerRow, PersonRow
from tracker.domain.calibration.report import CalibrationReport, Options, calibration_report
from tracker.domain.programme.load import Programme
from tracker.store import Queries, Store

Rows = tuple[list[PersonRow], list[LedgerRow], list[ActionRow]]


async def calibration(store: Store, site_id: int, programme: Programme, options: Options) -> CalibrationReport:
    async def read(q: Queries) -> Rows:
        people = await q.calibration_people(site_id, options.start, options.end, options.converting)
        ledger = await q.calibration_ledger(site_id, options.start, options.end)
        # A converter's window may open before the period does.
        actions = await q.calibration_actions(site_id, options.start, options.end, options.start - options.window)
        return people, ledger, actions

    people, ledger, actions = await store.read(read)
    return calibration_report(programme.scoring, options, people, ledger, actions, programme.grade)
