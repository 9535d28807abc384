"""``/admin/reports``: the calibration reports of a site for a period, in one page.

Conversion by score band, stage and grade (when the programme declares one) with seed 000's
test in words and the best threshold beside the current one, behaviours before conversion with
their lift and the points they get, each score's distribution and the time to conversion.  The numbers come from
``services.calibration`` with the parameters the API reads (``web.calibration``); the page's
CSV links are the API's routes, which take the console session.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from tracker.domain.calibration.bands import Band
from tracker.domain.calibration.report import CalibrationReport
from tracker.domain.outcomes import KINDS
from tracker.domain.programme.grade import Grade
from tracker.errors import HTTPError
from tracker.services.calibration_apart import report_of
from tracker.web.admin.calibration_charts import lift_mark, rate_chart, rate_mark
from tracker.web.admin.calibration_words import BEHAVIOURS, FLAGS, TIMINGS, percent, verdict_words
from tracker.web.admin.charts import Columns, columns
from tracker.web.admin.i18n import gettext, number
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.render import reader
from tracker.web.admin.session import Visit, requires
from tracker.web.auth import console_site
from tracker.web.calibration import DAY, TABLES, calibration_options

HISTOGRAM = ("other", "converted")


@requires("reports.read")
async def reports(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    language, _ = reader(request, visit)
    # Ticked boxes arrive as one parameter each; the API reads them as one list.
    params = {**request.query_params, "converting": ",".join(request.query_params.getlist("converting"))}
    try:
        site = console_site(runtime, params.get("site"))
        options = calibration_options(site, params, runtime.clock())
        # A large site's report is computed in a child process, whose death is a 500 naming it.
        report = await report_of(runtime, request.app.state.kept_reports, site, options)
    except HTTPError as exc:
        title = gettext(language, "No report")
        return show_page(request, visit, "error.html", exc.status, title=title, message=exc.message)
    query = {
        "site": site.key,
        "since": _day(options.start),
        "until": _day(options.end, up=True),
        "score": options.score,
        "width": f"{options.width:g}",
        "converting": ",".join(options.converting),
        "window": f"{options.window / DAY:g}",
        "criterion": options.criterion,
        "min_volume": str(options.min_volume),
    }
    # The tables of this very report: its exact period (the form's is in days), so a large site's is the one kept.
    exact = {**query, "since": _seconds(options.start), "until": _seconds(options.end)}
    return show_page(
        request,
        visit,
        "calibration.html",
        site=site,
        report=report,
        form=query,
        outcome_kinds=KINDS,
        scores=list(site.programme.scoring.scores),
        downloads={table: f"/api/reports/{table}.csv?{urlencode(exact)}" for table in TABLES},
        rates=rate_chart(report.bands, options.width, [("sql", report.sql), ("best", _best(report))]),
        histograms={name: _histogram(found, language) for name, found in report.distributions.items()},
        statement=verdict_words(report.test, language) if report.test is not None else None,
        lift_mark=lift_mark,
        rate_mark=rate_mark,
        grade_scores=_grade_scores(site.programme.grade),
        percent=lambda value: percent(value, language),
        band_label=lambda band: band_label(band, language),
        behaviour_kinds=BEHAVIOURS,
        flags=FLAGS,
        timings=TIMINGS,
        days=lambda seconds: number(round(seconds / DAY, 1), language),
    )


def _grade_scores(grade: Grade | None) -> str:
    """The scores a grade reads, as its letter and its number: "fit × engagement"."""
    return "" if grade is None else f"{grade.fit} × {grade.engagement}"


def _best(report: CalibrationReport) -> float | None:
    return report.best.threshold if report.best is not None else None


def _day(ts: float, *, up: bool = False) -> str:
    """The UTC day of ``ts``; ``up``: the next day unless ``ts`` is a midnight, so that the end of a
    period read as a date still includes everything up to it (the default end is now)."""
    moment = datetime.fromtimestamp(ts, UTC)
    day = moment.date()
    if up and moment.time() != time():
        day += timedelta(days=1)
    return day.isoformat()


def _seconds(ts: float) -> str:
    # As many digits as it takes to read back the same float.
    return f"{ts:.17g}"


def band_label(band: Band, language: str) -> str:
    """``10 – 15``, or ``≥ 120`` for the last, open band."""
    low = number(band.low, language)
    return f"≥ {low}" if band.high is None else f"{low} – {number(band.high, language)}"


def _histogram(found: list[Band], language: str) -> Columns:
    data = [(band_label(b, language), {"converted": b.converted, "other": b.leads - b.converted}) for b in found]
    return columns(data, HISTOGRAM, every=max(1, len(found) // 10))
