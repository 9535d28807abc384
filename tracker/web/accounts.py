"""``GET /api/accounts`` and ``GET /api/accounts/{id}``: customer accounts for account managers (a sales key)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tracker.domain.programme.accounts import ACCOUNT_STAGES
from tracker.errors import BadRequest, NotFound
from tracker.services.accounts import account_page, account_story
from tracker.services.exports import MAX_LIMIT, decode_cursor, encode_cursor
from tracker.services.runtime import Runtime
from tracker.web.auth import authenticate, site_of
from tracker.web.params import int_param, number_param, text_param
from tracker.web.responses import json_response


def stage_param(raw: str | None) -> str | None:
    """The ``stage`` filter, shared with the console's accounts page."""
    stage = text_param(raw, "stage")
    if stage is not None and stage not in ACCOUNT_STAGES:
        raise BadRequest(f"stage must be one of {', '.join(ACCOUNT_STAGES)}", field="stage")
    return stage


async def list_accounts(request: Request) -> Response:
    key = await authenticate(request, "sales")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    params = request.query_params
    stage = stage_param(params.get("stage"))
    cursor = decode_cursor(params["cursor"]) if params.get("cursor") else None
    accounts, following = await account_page(
        runtime.store,
        site.id,
        stage=stage,
        search=text_param(params.get("q"), "q"),
        min_score=number_param(params.get("min_score"), "min_score"),
        limit=int_param(params.get("limit"), "limit", minimum=1, maximum=MAX_LIMIT, default=50),
        cursor=cursor,
        now=runtime.clock(),
    )
    return json_response(
        {
            "count": len(accounts),
            "accounts": accounts,
            "next_cursor": encode_cursor(following) if following is not None else None,
        }
    )


async def get_account(request: Request) -> Response:
    key = await authenticate(request, "sales")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    account_id = int_param(request.path_params["account_id"], "account_id")
    story = await runtime.store.read(lambda q: account_story(q, site, account_id, runtime.clock()))
    if story is None:
        raise NotFound(f"no account {account_id}", field="account_id")
    return json_response(story)
