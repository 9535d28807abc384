"""The console's lead list: ``/admin/leads``, the API's list (``GET /api/leads``) for people.

The query string is parsed by the API's own ``web.exports.lead_filter`` and the page is read
by ``services.exports.lead_page``: the filters, the order and the keyset pages are the API's,
and the CSV link hands the same query to the export.  Opening the list records the visit
(``users.leads_seen_at``, once a session) so "new since my last visit" means the session before this one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from tracker.domain.clock import iso
from tracker.domain.facts import STAGES
from tracker.domain.programme.sales_holdout import HELD_OUT
from tracker.domain.routing import owners_of
from tracker.errors import HTTPError
from tracker.services.exports import MAX_LIMIT, decode_cursor, encode_cursor, lead_page, lead_summaries
from tracker.web.admin.i18n import gettext
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.render import reader
from tracker.web.admin.session import Visit, requires
from tracker.web.auth import console_site
from tracker.web.exports import lead_filter
from tracker.web.params import int_param

PAGE_SIZE = 50
# The filters the form offers, in the query string's names (the API's).
FILTERS = ("q", "stage", "score", "min_score", "max_score", "queue", "owner", "new_since")


def words(language: str) -> dict[str, str]:
    """Data shown in words: outcome kinds and device types (the values themselves stay in English)."""
    return {
        "contacted": gettext(language, "contacted"),
        "meeting": gettext(language, "meeting"),
        "won": gettext(language, "won"),
        "lost": gettext(language, "lost"),
        "desktop": gettext(language, "desktop"),
        "mobile": gettext(language, "mobile"),
        "tablet": gettext(language, "tablet"),
        "bot": gettext(language, "bot"),
        # E-mail engagement: the e-mail channel's device type, and why a click or an open was flagged.
        "email": gettext(language, "e-mail"),
        "scanner": gettext(language, "a security scanner"),
        "data_centre": gettext(language, "a data-centre network"),
        "too_soon": gettext(language, "seconds after sending or opening"),
        "prefetch": gettext(language, "prefetched by a privacy proxy"),
    }


@requires("leads.read")
async def leads(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    params = request.query_params
    language, _ = reader(request, visit)
    user = visit.session.user
    try:
        site = console_site(runtime, params.get("site"))
    except HTTPError as exc:
        title = gettext(language, "Cannot list these leads")
        return show_page(request, visit, "error.html", exc.status, title=title, message=exc.message)
    # "My last visit" is the previous session's: filtering and paging in this one do not move it.
    started = visit.session.created_at
    seen_before = await runtime.store.write(lambda q: q.set_leads_seen(user.id, started, runtime.clock()))
    routes = site.programme.routes
    context: dict[str, Any] = {
        "site": site,
        "params": params,
        "scores": list(site.programme.scoring.scores),
        "stages": [stage for stage in STAGES if stage != "anonymous"],
        "queues": list(dict.fromkeys(route.queue for route in routes)),
        "held_out": HELD_OUT,
        "owners": list(owners_of(routes)),
        "my_owner": user.owner,
        "words": words(language),
        "seen_before": seen_before,
        "new_since": iso(seen_before) or "",
        "errors": {},
        "leads": [],
        "last_seen": {},
        "as_of": None,
        "score": params.get("score") or site.programme.primary_score,
        "next_url": None,
        "export_url": None,
        "timeline_url": None,
        "mine_url": f"/admin/leads?{urlencode({'site': site.key, 'owner': user.owner})}" if user.owner else None,
        "new_url": None,
    }
    try:
        wanted = lead_filter(site, params)
        limit = int_param(params.get("limit"), "limit", minimum=1, maximum=MAX_LIMIT, default=PAGE_SIZE)
        cursor = decode_cursor(params["cursor"]) if params.get("cursor") else None
    except HTTPError as exc:
        # The form comes back with what was typed and the message beside the field at fault.
        context["errors"] = {exc.field or "q": exc.message}
        return show_page(request, visit, "leads.html", 400, **context)
    at = cursor.at if cursor is not None else runtime.clock()
    page, following = await lead_page(runtime.store, site, wanted, limit, cursor, at)
    kept = {key: value for key, value in params.items() if key in (*FILTERS, "limit") and value}
    kept["site"] = site.key
    context.update(
        score=wanted.score,
        leads=await runtime.store.read(lambda q: lead_summaries(q, site, page, at)),
        last_seen={person.id: person.last_seen_at for person in page},
        as_of=at,
        next_url=f"/admin/leads?{urlencode({**kept, 'cursor': encode_cursor(following)})}" if following else None,
        export_url=f"/api/exports/leads.csv?{urlencode(kept)}",
        timeline_url=f"/api/exports/timeline.csv?{urlencode(kept)}",
        new_url=f"/admin/leads?{urlencode({'site': site.key, 'new_since': iso(seen_before)})}"
        if seen_before is not None
        else None,
    )
    return show_page(request, visit, "leads.html", **context)
