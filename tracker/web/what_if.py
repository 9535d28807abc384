"""``POST /api/programme/what-if``: what publishing a programme would change, computed over the stored
history of the key's site with nothing written (``services.what_if``)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tracker.errors import BadRequest
from tracker.services.runtime import Runtime
from tracker.services.what_if import check_days, compile_draft, named, what_if
from tracker.web.auth import authenticate, site_of
from tracker.web.collect import read_body
from tracker.web.responses import json_response

# A programme is a text file a marketer writes: far below this.
MAX_BODY = 1024 * 1024
DEFAULT_DAYS = 90


async def programme_what_if(request: Request) -> Response:
    """``{"programme": "<TOML>", "days": 90}`` → people replayed, stage changes, distributions before and after."""
    key = await authenticate(request, "marketing")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    raw = await read_body(request, MAX_BODY)
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("body must be JSON", field="body") from None
    if not isinstance(body, dict):
        raise BadRequest('expected an object such as {"programme": "...", "days": 90}', field="body")
    source = body.get("programme")
    if not isinstance(source, str):
        raise BadRequest("the programme's TOML, as a string", field="programme")
    days = body.get("days", DEFAULT_DAYS)
    if not isinstance(days, int) or isinstance(days, bool):
        raise BadRequest("days must be an integer", field="days")
    draft = compile_draft(source)
    result = await what_if(runtime.store, site.key, draft, days=check_days(days), now=runtime.clock())
    return json_response(await named(runtime.store, result.to_json()))
