"""Handlers for internal traffic and what ignored traffic counts (``services.abuse`` holds the rules).

``POST /api/internal-links`` mints a link that marks a browser internal, ``GET /internal``
sets or clears that mark, ``GET /api/ignored-traffic`` reports bot and internal counts.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tracker.domain.clock import iso
from tracker.errors import BadRequest
from tracker.services.abuse import INTERNAL_COOKIE, INTERNAL_COOKIE_MAX_AGE, INTERNAL_LINK_SECONDS, day_of
from tracker.services.runtime import Runtime
from tracker.web.auth import authenticate, site_of
from tracker.web.params import int_param
from tracker.web.responses import json_response

# ---- routes -----------------------------------------------------------------------------


async def create_internal_link(request: Request) -> Response:
    """``POST /api/internal-links``: a link that marks the browser opening it as internal for a week."""
    key = await authenticate(request, "marketing")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    expires_at = runtime.clock() + INTERNAL_LINK_SECONDS
    token = runtime.guard.internal.link_token(site.key, expires_at)
    body = {"site": site.key, "url": f"{request.base_url}internal?t={token}", "expires_at": iso(expires_at)}
    return json_response(body, 201)


async def internal_browser(request: Request) -> Response:
    """``GET /internal?t=<link token>`` marks this browser internal; ``?off`` unmarks it; no
    parameter says which sites it is internal for."""
    runtime: Runtime = request.app.state.runtime
    internal = runtime.guard.internal
    sites = set(internal.sites_of(request.cookies.get(INTERNAL_COOKIE)))
    token = request.query_params.get("t")
    changed = token is not None or "off" in request.query_params
    if "off" in request.query_params:
        sites = set()
    elif token is not None:
        site_key = internal.site_of_link(token, runtime.clock())
        if site_key is None:
            raise BadRequest("this link is forged or expired: ask for a new one", field="t")
        sites.add(site_key)
    response = json_response({"internal": sorted(sites)})
    if changed:
        response.set_cookie(
            INTERNAL_COOKIE,
            internal.cookie_for(sites),
            max_age=INTERNAL_COOKIE_MAX_AGE if sites else 0,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


async def ignored_traffic(request: Request) -> Response:
    """``GET /api/ignored-traffic?days=30``: bot and internal requests and events per day and reason."""
    key = await authenticate(request, "marketing")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    raw = request.query_params.get("days", "30")
    days = int_param(raw, "days")
    if not 1 <= days <= 400:
        raise BadRequest("days must be from 1 to 400", field="days")
    await runtime.guard.ignored.flush(runtime.store)  # this instance's latest counts too
    since = day_of(runtime.clock() - (days - 1) * 86400)
    counts: list[dict[str, Any]] = await runtime.store.read(lambda q: q.ignored_traffic(site.id, since))
    return json_response({"site": site.key, "since": since, "counts": counts})
