"""Leads out: the cursor-paged list (``GET /api/leads``) and CSV / NDJSON exports.

Leads are listed by their score *now*, decay applied.  The database sorts by stored
values, which bound decayed ones from above, so a page is exact without reading every
lead: rows come in stored order and the scan stops once no stored value left can beat
the page's lowest decayed one.  The cursor carries the page's moment (decay is
computed for the same instant on every page, so pages never overlap or skip) and the
(decayed score, id) of the last lead returned.

Exports stream leads in stored-score order, a batch per read, so neither a large file
nor a slow client holds a database connection; on SQLite other reads go on between
batches.  ``tracker export`` writes the same bytes to a file, with a progress bar.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tracker.domain.clock import iso
from tracker.services.exports import (
    MAX_LIMIT,
    _summaries,
    audit_export,
    decode_cursor,
    encode_cursor,
    export_lines,
    lead_filter,
    lead_page,
)
from tracker.services.runtime import Runtime
from tracker.web.auth import authenticate
from tracker.web.leads import site_of
from tracker.web.params import int_param
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
    leads = await runtime.store.read(lambda q: _summaries(q, site, page, at))
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
    key = await authenticate(request, "sales")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    wanted = lead_filter(site, request.query_params)
    now = runtime.clock()
    await audit_export(runtime.store, site, f"key:{key.id}", what, fmt, wanted, now)
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
