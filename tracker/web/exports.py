"""Handlers for leads out: the cursor-paged list (``GET /api/leads``) and CSV / NDJSON exports.

Query parameters become a ``domain.lead_filter.LeadFilter`` here; the CLI's ``tracker export``
parses its options through the same ``lead_filter``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tracker.domain.clock import iso
from tracker.domain.facts import STAGES
from tracker.domain.lead_filter import LeadFilter
from tracker.domain.sites import Site
from tracker.errors import BadRequest
from tracker.services.exports import (
    DEFAULT_LEAD_STAGES,
    MAX_LIMIT,
    audit_export,
    decode_cursor,
    encode_cursor,
    export_lines,
    lead_page,
    lead_summaries,
)
from tracker.services.runtime import Runtime
from tracker.web.auth import authenticate, caller, site_of
from tracker.web.params import int_param, number_param, text_param
from tracker.web.responses import json_response

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}


async def list_leads(request: Request) -> Response:
    key = await authenticate(request, "sales")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    params = request.query_params
    wanted = lead_filter(site, params)
    limit = int_param(params.get("limit"), "limit", minimum=1, maximum=MAX_LIMIT, default=50)
    cursor = decode_cursor(params["cursor"]) if params.get("cursor") else None
    at = cursor.at if cursor is not None else runtime.clock()
    page, following = await lead_page(runtime.store, site, wanted, limit, cursor, at)
    leads = await runtime.store.read(lambda q: lead_summaries(q, site, page, at))
    return json_response(
        {
            "score": wanted.score,
            "as_of": iso(at),
            "count": len(leads),
            "leads": leads,
            "next_cursor": encode_cursor(following) if following is not None else None,
        }
    )


async def _export(request: Request, what: str, fmt: str) -> Response:
    who = await caller(request, "sales", "leads.export")  # a sales key, or a console session
    runtime: Runtime = request.app.state.runtime
    site = who.site
    wanted = lead_filter(site, request.query_params)
    now = runtime.clock()
    await audit_export(runtime.store, site, who.actor, what, fmt, wanted, now)
    day = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d")
    return StreamingResponse(
        export_lines(runtime.store, site, wanted, what, fmt, now),
        media_type=MEDIA_TYPES[fmt],
        headers={"content-disposition": f'attachment; filename="{what}-{site.key}-{day}.{fmt}"'},
    )


async def leads_csv(request: Request) -> Response:
    return await _export(request, "leads", "csv")


async def leads_ndjson(request: Request) -> Response:
    return await _export(request, "leads", "ndjson")


async def timeline_csv(request: Request) -> Response:
    return await _export(request, "timeline", "csv")


async def timeline_ndjson(request: Request) -> Response:
    return await _export(request, "timeline", "ndjson")


def lead_filter(site: Site, params: Mapping[str, str]) -> LeadFilter:
    """The filter a request's query string asks for; BadRequest names a bad parameter."""
    score = params.get("score") or site.programme.primary_score
    if score is None or score not in site.programme.scoring.scores:
        raise BadRequest(f"unknown score {score!r}", field="score")
    low, high = number_param(params.get("min_score"), "min_score"), number_param(params.get("max_score"), "max_score")
    if low is not None and high is not None and low > high:
        raise BadRequest("max_score is below min_score", field="max_score")
    return LeadFilter(
        stages=_stages(params.get("stage")),
        score=score,
        min_score=low,
        max_score=high,
        since=_since(params.get("since"), "since"),
        new_since=_since(params.get("new_since"), "new_since"),
        queue=text_param(params.get("queue"), "queue"),
        owner=text_param(params.get("owner"), "owner"),
        search=text_param(params.get("q"), "q"),
    )


def _stages(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return DEFAULT_LEAD_STAGES
    stages = tuple(s.strip() for s in raw.split(",") if s.strip())
    unknown = [s for s in stages if s not in STAGES]
    if unknown or not stages:
        raise BadRequest(f"unknown stage {unknown[0] if unknown else raw!r}; use {', '.join(STAGES)}", field="stage")
    return stages


def _since(raw: str | None, field: str) -> float | None:
    if not raw:
        return None
    try:
        return number_param(raw, field)
    except BadRequest:
        pass
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{field} must be an ISO 8601 time or POSIX seconds", field=field) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
