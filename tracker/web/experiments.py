"""``GET /api/campaigns/{campaign_id}/experiment``: a campaign experiment's results; ``GET /api/sales-holdout``:
held-out against routed SQLs.  Both for a marketing key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tracker.domain.clock import iso
from tracker.domain.uplift import ArmResult
from tracker.services.experiments import (
    HELD_OUT_ARM,
    ROUTED_ARM,
    ExperimentReport,
    experiment_report,
    sales_holdout_report,
)
from tracker.services.runtime import Runtime
from tracker.web.auth import authenticate, site_of
from tracker.web.responses import json_response


async def campaign_experiment(request: Request) -> Response:
    key = await authenticate(request, "marketing")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    report = await experiment_report(runtime.store, site, request.path_params["campaign_id"])
    return json_response({"site": site.key, **report_json(report)})


async def sales_holdout(request: Request) -> Response:
    key = await authenticate(request, "marketing")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    report = await sales_holdout_report(runtime.store, site)
    shares = {HELD_OUT_ARM: report.share, ROUTED_ARM: 100 - report.share} if report.share is not None else {}
    return json_response(
        {
            "site": site.key,
            "share": report.share,
            "window_days": report.window / 86400,
            "since": iso(report.since) if report.since is not None else None,
            "reference": report.arms[0].name,
            "arms": arms_json(report.arms, shares),
        }
    )


def report_json(report: ExperimentReport) -> dict[str, Any]:
    """The report as the API sends it: rates and uplifts as fractions (0.05 is 5 %), intervals at 95 %."""
    return {
        "campaign": report.campaign,
        "running": report.running,
        "window_days": report.window / 86400,
        "goals": list(report.goals),
        "reference": report.reference,
        "arms": arms_json(report.arms, report.shares),
    }


def arms_json(arms: list[ArmResult], shares: Mapping[str, float]) -> list[dict[str, Any]]:
    """Each arm: its share (None once ended), people, conversions, rate and uplift with their 95 % intervals."""
    return [
        {
            "name": arm.name,
            "share": shares.get(arm.name),
            "people": arm.people,
            "conversions": arm.converted,
            "rate": arm.rate,
            "rate_low": arm.rate_interval.low,
            "rate_high": arm.rate_interval.high,
            "uplift": arm.uplift,
            "uplift_low": arm.uplift_interval.low if arm.uplift_interval else None,
            "uplift_high": arm.uplift_interval.high if arm.uplift_interval else None,
            "significant": arm.significant,
        }
        for arm in arms
    ]
