"""``/admin/``: the dashboard every role lands on, per site.

Numbers come from ``services.reports``; this module only shapes them for reading: chart
geometry (``charts``), day labels in the reader's language, and the links each role needs.
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_skeleton
from starlette.requests import Request
from starlette.responses import Response

from tracker.errors import HTTPError
from tracker.services import thresholds
from tracker.services.reports import QUALIFIED, Day, dashboard
from tracker.services.runtime import Runtime
from tracker.web.admin.charts import Columns, columns, share
from tracker.web.admin.i18n import gettext
from tracker.web.admin.pages import show_page
from tracker.web.admin.render import reader
from tracker.web.admin.session import Visit, requires
from tracker.web.auth import console_site

IGNORED = ("bot", "internal")
LABEL_EVERY = 2  # two weeks of columns: a label every other day stays readable


def _chart(days: list[Day], series: tuple[str, ...], language: str) -> Columns:
    return columns([(_label(day.day, language), day.counts) for day in days], series, every=LABEL_EVERY)


def _label(day: date, language: str) -> str:
    return format_skeleton("MMMd", day, locale=language)


@requires("console")
async def home(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime: Runtime = request.app.state.runtime
    language, tz = reader(request, visit)
    try:
        site = console_site(runtime, request.query_params.get("site"))
    except HTTPError as exc:
        title = gettext(language, "No dashboard yet")
        return show_page(request, visit, "error.html", exc.status, title=title, message=exc.message)
    # This instance's latest ignored-traffic counts too, as GET /api/ignored-traffic does.
    await runtime.guard.ignored.flush(runtime.store)
    report = await dashboard(runtime.store, site, runtime.clock(), tz, request.app.state.week_tops)
    return show_page(
        request,
        visit,
        "home.html",
        site=site,
        report=report,
        funnel_top=max(report.stages.values()),
        qualified_chart=_chart(report.qualified, QUALIFIED, language),
        ignored_chart=_chart(report.ignored, IGNORED, language),
        ignored_total=sum(sum(day.counts.values()) for day in report.ignored),
        pages_top=max([page.points for page in report.top_pages], default=0),
        rules_top=max([rule.points for rule in report.top_rules], default=0),
        share=share,
        day_label=lambda day: _label(day, language),
        owner=visit.session.user.owner,
        # Both sides see the threshold changes waiting for them (seed 004).
        proposals=await thresholds.pending(runtime.store, site.id),
    )
