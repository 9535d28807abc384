"""A large site's calibration report computed in a child process, away from ingestion's event loop.

The report reads every ledger row and page view of the period's leads, then does its statistics in
Python: on 100,000 people and 5,000,000 events that held the server's event loop for some 20 of its
24 s, and no beacon call was answered meanwhile.  From ``Settings.reports_apart_people`` people (2,000)
the report is computed by a child process (``services.apart``), which hands it back pickled in a file
of its own; a smaller site's is computed in the server, where it ends before a child would have
started (importing tracker takes about half a second).
"""

from __future__ import annotations

import asyncio
import pickle
import tempfile
from pathlib import Path

from tracker.domain.calibration.report import CalibrationReport, Options
from tracker.domain.programme.load import load_programme
from tracker.domain.sites import Site
from tracker.errors import ReportFailed
from tracker.services.apart import child_store, run_apart
from tracker.services.calibration import calibration
from tracker.services.kept_reports import KeptReports
from tracker.services.runtime import Runtime


async def report_of(runtime: Runtime, kept: KeptReports, site: Site, options: Options) -> CalibrationReport:
    """The site's calibration report for ``options``; a large site's computed apart from the server, and
    kept a few minutes for whoever asks the same (``kept_reports``)."""
    settings, store = runtime.settings, runtime.store
    people = await store.read(lambda q: q.count_people(site.id))
    if people < settings.reports_apart_people:
        return await calibration(store, site.id, site.programme, options)
    return await kept.report((site.id, site.programme.source, options), lambda: _apart(runtime, site, options))


async def _apart(runtime: Runtime, site: Site, options: Options) -> CalibrationReport:
    settings = runtime.settings
    with tempfile.TemporaryDirectory(prefix="tracker-report-") as folder:
        answer = Path(folder) / "report.pickle"
        url, synchronous = settings.database_url, settings.sqlite_synchronous
        args = (url, synchronous, site.id, site.programme.source, options, str(answer))
        code = await run_apart(_child, args, name=f"tracker-report-{site.key}")
        if code != 0 or not answer.exists():
            raise ReportFailed(f"the report's process ended with code {code}")
        report: CalibrationReport = pickle.loads(answer.read_bytes())
    return report


def _child(url: str, synchronous: str, site_id: int, source: str, options: Options, answer: str) -> None:
    report = asyncio.run(_report_alone(url, synchronous, site_id, source, options))
    Path(answer).write_bytes(pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL))


async def _report_alone(url: str, synchronous: str, site_id: int, source: str, options: Options) -> CalibrationReport:
    store = child_store(url, synchronous)
    await store.open()
    try:
        return await calibration(store, site_id, load_programme(source), options)
    finally:
        await store.close()
