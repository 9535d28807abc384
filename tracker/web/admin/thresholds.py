"""The thresholds page: the MQL/SQL thresholds in force, proposals to change them, both sides'
approvals (seed 004), and the history of what was decided.

Every action calls ``services.thresholds``; a failed one re-renders the page with the error
next to what it concerns and the input kept, a successful one redirects to the page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.sites import Site
from tracker.errors import HTTPError
from tracker.services import thresholds
from tracker.services.thresholds import Actor, InvalidThresholds
from tracker.web.admin.i18n import gettext
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.render import reader
from tracker.web.admin.session import Visit, requires
from tracker.web.auth import console_site
from tracker.web.params import int_param

PATH = "/admin/thresholds"
# What a redirect after a successful action says on the page (only these: never text from the URL).
DONE = {
    "proposed": "Proposal recorded: it takes effect once marketing and sales have both approved it.",
    "approved": "Approved for your side: it now waits for the other side.",
    "applied": "Both sides agreed: the new thresholds are active.",
    "rejected": "Proposal rejected.",
    "withdrawn": "Proposal withdrawn.",
}
EMPTY_FORM = {"score": "", "mql": "", "sql": "", "reason": ""}


def actor_of(visit: Visit) -> Actor:
    user = visit.session.user
    return Actor(who=user.email, actor=f"user:{user.id}", role=user.role, user_id=user.id)


async def _render(
    request: Request,
    visit: Visit,
    site: Site,
    status: int = 200,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    failure: tuple[int, str, str] | None = None,  # (proposal id, field, message) of a failed decision
    reason_kept: str = "",  # what was typed as the reason of that decision
) -> Response:
    store = runtime_of(request).store
    language, _ = reader(request, visit)
    done = DONE.get(request.query_params.get("done", "")) if request.method == "GET" else None
    failed_id, failed_field, failed_message = failure or (0, "", "")
    given = errors or {}
    return show_page(
        request,
        visit,
        "thresholds.html",
        status,
        site=site,
        scores=sorted(site.programme.thresholds().items()),
        proposals=await thresholds.pending(store, site.id),
        history=await thresholds.history(store, site.id),
        form=form or {**EMPTY_FORM, "score": request.query_params.get("score", "")},
        errors={field: gettext(language, given[field]) if given.get(field) else "" for field in EMPTY_FORM},
        notice=gettext(language, done) if done else None,
        failed={
            "id": failed_id,
            "field": failed_field,
            "message": failed_message and gettext(language, failed_message),
        },
        reason_kept=reason_kept,
    )


def _site_or_error(request: Request, visit: Visit, key: str | None) -> Site | Response:
    try:
        return console_site(runtime_of(request), key)
    except HTTPError as exc:
        title = gettext(reader(request, visit)[0], "No such site")
        return show_page(request, visit, "error.html", exc.status, title=title, message=exc.message)


def _back(site: Site, done: str, anchor: str = "") -> Response:
    return RedirectResponse(f"{PATH}?{urlencode({'site': site.key, 'done': done})}{anchor}", status_code=303)


@requires("thresholds.propose")
async def page(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    site = _site_or_error(request, visit, request.query_params.get("site"))
    if isinstance(site, Response):
        return site
    return await _render(request, visit, site)


@requires("thresholds.propose")
async def propose(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    site = _site_or_error(request, visit, form.get("site"))
    if isinstance(site, Response):
        return site
    kept = {name: form.get(name, "")[:2000] for name in EMPTY_FORM}
    runtime = runtime_of(request)
    try:
        await thresholds.propose(runtime.store, site.key, actor_of(visit), **kept, now=runtime.clock())
    except InvalidThresholds as exc:
        return await _render(request, visit, site, exc.status, form=kept, errors=exc.errors)
    return _back(site, "proposed", "#pending")


async def _decide(request: Request, visit: Visit, form: dict[str, str], action: str) -> Response:
    """Approve, reject or withdraw the proposal of the URL."""
    site = _site_or_error(request, visit, form.get("site"))
    if isinstance(site, Response):
        return site
    runtime = runtime_of(request)
    store, actor, now = runtime.store, actor_of(visit), runtime.clock()
    reason = form.get("reason", "")[:2000]
    proposal_id = 0
    try:
        proposal_id = int_param(request.path_params["proposal_id"], "proposal", minimum=1)
        if action == "approve":
            decided = await thresholds.approve(store, site.key, proposal_id, actor, now=now)
        elif action == "reject":
            decided = await thresholds.reject(store, site.key, proposal_id, actor, reason=reason, now=now)
        else:
            decided = await thresholds.withdraw(store, site.key, proposal_id, actor, now=now)
    except HTTPError as exc:
        failure = (proposal_id, exc.field or "proposal", exc.message)
        return await _render(request, visit, site, exc.status, failure=failure, reason_kept=reason)
    if decided.status == "applied":
        await runtime.sites.refresh()  # this process scores with it at once; the others within seconds
    return _back(site, decided.status if decided.status != "pending" else "approved", "#current")


@requires("thresholds.approve")
async def approve(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    return await _decide(request, visit, form, "approve")


@requires("thresholds.approve")
async def reject(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    return await _decide(request, visit, form, "reject")


@requires("thresholds.propose")
async def withdraw(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    return await _decide(request, visit, form, "withdraw")
