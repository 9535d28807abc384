"""A campaign's experiment on its console page: the results per arm (table and chart) and the two
decisions a marketer takes from them, ending a variant or keeping the winner for everybody.

Both decisions are programme changes (``services.experiments``), published against the version
the page was opened on, like a campaign save.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.experiments import CONTROL, ORIGINAL
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.sites import Site
from tracker.domain.uplift import ArmResult
from tracker.errors import HTTPError, NotFound
from tracker.services.experiments import ExperimentReport, end_variant, experiment_report, keep_variant
from tracker.services.programmes import Published
from tracker.services.runtime import Runtime
from tracker.web.admin.charts import ranges
from tracker.web.admin.i18n import N_, gettext
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.render import reader
from tracker.web.admin.session import Visit, requires
from tracker.web.auth import console_site

ARM_NAMES = {CONTROL: N_("Control (held out)"), ORIGINAL: N_("Original")}
GOAL_NAMES = {"conversion": N_("a conversion on the campaign"), "won": N_("a lead won")}


async def experiment_view(runtime: Runtime, site: Site, campaign: str, language: str) -> dict[str, Any] | None:
    """What the campaign page shows of the experiment; None when the campaign never ran one."""
    try:
        report = await experiment_report(runtime.store, site, campaign)
    except NotFound:
        return None
    rows = [_row(report, arm, language) for arm in report.arms]
    chart = ranges([(row["name"], row["label"], row["rate"], row["rate_low"], row["rate_high"]) for row in rows])
    return {
        "report": report,
        "rows": rows,
        "chart": chart,
        "window_days": round(report.window / 86400, 1),
        "goals": " · ".join(gettext(language, GOAL_NAMES[goal]) for goal in report.goals),
        "reference": _label(report.reference, language) if report.reference else "",
    }


def _row(report: ExperimentReport, arm: ArmResult, language: str) -> dict[str, Any]:
    running = arm.name in report.shares
    uplift = arm.uplift_interval
    verdict = ""
    if arm.significant and arm.uplift is not None:
        verdict = "better" if arm.uplift > 0 else "worse"
    return {
        "name": arm.name,
        "label": _label(arm.name, language),
        "share": report.shares.get(arm.name),
        "people": arm.people,
        "converted": arm.converted,
        "rate": _percent(arm.rate),
        "rate_low": _percent(arm.rate_interval.low),
        "rate_high": _percent(arm.rate_interval.high),
        "uplift": _percent(arm.uplift) if arm.uplift is not None else None,
        "uplift_low": _percent(uplift.low) if uplift else None,
        "uplift_high": _percent(uplift.high) if uplift else None,
        "verdict": verdict,
        "can_end": report.running and running and arm.name != ORIGINAL,
        "can_keep": report.running and running and arm.name != CONTROL,
    }


def _label(name: str, language: str) -> str:
    return gettext(language, ARM_NAMES[name]) if name in ARM_NAMES else name


def _percent(fraction: float) -> float:
    return round(100 * fraction, 1)


@requires("campaigns.edit")
async def experiment_end(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    return await _decide(request, visit, form, end_variant)


@requires("campaigns.edit")
async def experiment_keep(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    return await _decide(request, visit, form, keep_variant)


async def _decide(
    request: Request, visit: Visit, form: dict[str, str], change: Callable[..., Awaitable[Published]]
) -> Response:
    runtime = runtime_of(request)
    await runtime.sites.refresh()
    campaign = request.path_params["campaign_id"]
    language, _ = reader(request, visit)
    raw = form.get("base_version", "")
    try:
        site = console_site(runtime, form.get("site"))
        await change(
            runtime.store,
            site,
            campaign,
            form.get("variant", ""),
            base_version=int(raw) if raw.isdigit() else -1,
            author=f"user:{visit.session.user.id}",
            now=runtime.clock(),
        )
    except (HTTPError, ProgrammeError) as exc:
        status = exc.status if isinstance(exc, HTTPError) else 400
        title = gettext(language, "The experiment was not changed")
        return show_page(request, visit, "error.html", status, title=title, message=exc.message)
    await runtime.sites.refresh()
    query = urlencode({"site": site.key, "saved": "1"})
    return RedirectResponse(f"/admin/campaigns/{quote(campaign, safe='')}?{query}#experiment", status_code=303)
