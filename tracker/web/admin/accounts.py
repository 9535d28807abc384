"""The console's accounts (permission leads.read): ``/admin/accounts``, customer accounts by score with
their stages, and ``/admin/accounts/{id}``, one account with its members and their merged timeline.

Both read what the API reads (``services.accounts.account_page`` and ``account_story``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from tracker.domain.programme.accounts import ACCOUNT_STAGES
from tracker.errors import HTTPError
from tracker.services.accounts import account_page, account_story
from tracker.services.exports import decode_cursor, encode_cursor
from tracker.store import Queries
from tracker.web.accounts import stage_param
from tracker.web.admin.i18n import N_, gettext
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.render import reader
from tracker.web.admin.session import Visit, requires
from tracker.web.auth import console_site
from tracker.web.params import int_param, number_param, text_param

PAGE_SIZE = 50
TIMELINE_SHOWN = 100
FILTERS = ("q", "stage", "min_score")
STAGE_WORDS = {
    "renewal_due": N_("renewal due"),
    "upsell": N_("upsell"),
    "cross_sell": N_("cross-sell"),
    "at_risk": N_("at risk"),
}


def _stage_words(language: str) -> dict[str, str]:
    return {stage: gettext(language, STAGE_WORDS[stage]) for stage in ACCOUNT_STAGES}


def _seconds(text: str | None) -> float | None:
    """An ISO time of the story back to POSIX seconds, for the ``|moment`` filter."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


@requires("leads.read")
async def accounts(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    params = request.query_params
    language, _ = reader(request, visit)
    try:
        site = console_site(runtime, params.get("site"))
    except HTTPError as exc:
        title = gettext(language, "Cannot list these accounts")
        return show_page(request, visit, "error.html", exc.status, title=title, message=exc.message)
    context: dict[str, Any] = {
        "site": site,
        "params": params,
        "stages": _stage_words(language),
        "score": site.programme.accounts.primary_score,
        "accounts": [],
        "errors": {},
        "next_url": None,
    }
    try:
        stage = stage_param(params.get("stage"))
        found, following = await account_page(
            runtime.store,
            site.id,
            stage=stage,
            search=text_param(params.get("q"), "q"),
            min_score=number_param(params.get("min_score"), "min_score"),
            limit=PAGE_SIZE,
            cursor=decode_cursor(params["cursor"]) if params.get("cursor") else None,
            now=runtime.clock(),
        )
    except HTTPError as exc:
        # The form comes back with what was typed and the message beside the field at fault.
        context["errors"] = {exc.field or "q": exc.message}
        return show_page(request, visit, "accounts.html", 400, **context)
    kept = {key: value for key, value in params.items() if key in FILTERS and value}
    kept["site"] = site.key
    context.update(
        accounts=found,
        next_url=f"/admin/accounts?{urlencode({**kept, 'cursor': encode_cursor(following)})}" if following else None,
    )
    return show_page(request, visit, "accounts.html", **context)


@requires("leads.read")
async def account(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    language, _ = reader(request, visit)
    try:
        account_id: int | None = int_param(request.path_params["account_id"], "account_id")
    except HTTPError:
        account_id = None
    now = runtime.clock()

    async def read(q: Queries) -> dict[str, Any] | None:
        found = await q.account(account_id) if account_id is not None else None
        site = runtime.sites.by_id(found.site_id) if found is not None else None
        if found is None or site is None:
            return None
        return await account_story(q, site, found.id, now)

    story = await runtime.store.read(read)
    if story is None:
        title = gettext(language, "No such account")
        message = gettext(language, "This account does not exist (any more).")
        return show_page(request, visit, "error.html", 404, title=title, message=message)
    return show_page(
        request,
        visit,
        "account.html",
        account=story,
        stages=_stage_words(language),
        history=[{**row, "ts": _seconds(row["ts"])} for row in story["stage_history"]],
        members=[{**row, "last_seen_at": _seconds(row["last_seen_at"])} for row in story["members"]],
        timeline=[{**row, "ts": _seconds(row["ts"])} for row in story["timeline"][:TIMELINE_SHOWN]],
    )
