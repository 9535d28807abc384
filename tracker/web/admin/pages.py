"""The console's pages: sign-in and first run, the lead list and a lead's story (the programme's are in
``programme_pages`` and ``programme_edit``).

Each page calls what the API calls (``services.exports.lead_page``, ``services.leads.lead_story``,
``web.exports.lead_filter``) and only shapes the answer for reading.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.clock import iso
from tracker.errors import HTTPError
from tracker.services.accounts import FIRST_ADMIN, AccountError
from tracker.services.exports import MAX_LIMIT, _summaries, decode_cursor, encode_cursor, lead_page
from tracker.services.leads import lead_story
from tracker.services.runtime import Runtime
from tracker.store import Queries
from tracker.web.admin.render import asset, render
from tracker.web.admin.session import (
    LOGIN,
    Visit,
    clear_cookie,
    console,
    current,
    read_form,
    requires,
    set_cookie,
)
from tracker.web.auth import console_site
from tracker.web.exports import lead_filter
from tracker.web.params import int_param

SIGN_IN_FAILED = "Wrong e-mail or password."
PAGE_SIZE = 50
ASSET_HEADERS = {"cache-control": "public, max-age=3600"}  # nosniff comes from web.nosniff, as everywhere


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _local_target(raw: str | None) -> str:
    """Where to go after signing in: a console path of ours, never another host."""
    if raw and raw.startswith("/admin") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/admin/"


def _page(request: Request, visit: Visit, template: str, status: int = 200, **context: Any) -> Response:
    sites = _runtime(request).sites.all()
    return render(
        request,
        template,
        {"visit": visit, "sites": sites, **context},
        status,
    )


# ---- signing in and out ---------------------------------------------------------------


async def root(request: Request) -> Response:
    return RedirectResponse("/admin/", status_code=303)


async def console_asset(request: Request) -> Response:
    """``/admin/console.css``, ``/admin/console.js``, ``/admin/htmx.js``."""
    body, media_type = asset(request.url.path.rsplit("/", 1)[-1])
    return Response(body, media_type=media_type, headers=ASSET_HEADERS)


async def login_form(request: Request) -> Response:
    if await current(request) is not None:
        return RedirectResponse(_local_target(request.query_params.get("next")), status_code=303)
    return render(
        request, "login.html", {"visit": None, "email": "", "error": None, "next": request.query_params.get("next", "")}
    )


async def login(request: Request) -> Response:
    form = await read_form(request)
    email, password, target = form.get("email", ""), form.get("password", ""), form.get("next", "")
    the_console = console(request)
    wait = the_console.throttled(request, email)
    if wait > 0:
        message = f"Too many sign-in attempts. Try again in {max(1, round(wait))} seconds."
        context = {"visit": None, "email": email, "error": message, "next": target}
        response = render(request, "login.html", context, 429)
        response.headers["retry-after"] = str(max(1, round(wait)))
        return response
    now = the_console.runtime.clock()
    user = await the_console.accounts.sign_in(email, password, now)
    if user is None:
        return render(
            request, "login.html", {"visit": None, "email": email, "error": SIGN_IN_FAILED, "next": target}, 401
        )
    session_id, _ = await the_console.accounts.open_session(user, now)
    response = RedirectResponse(_local_target(target), status_code=303)
    set_cookie(request, response, session_id)
    return response


@requires("console")
async def logout(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    await console(request).accounts.close_session(visit.session_id)
    response = RedirectResponse(LOGIN, status_code=303)
    clear_cookie(request, response)
    return response


async def setup_form(request: Request) -> Response:
    token = request.query_params.get("t", "")
    the_console = console(request)
    link = await the_console.accounts.link(token, the_console.runtime.clock())
    if link is None:
        return render(
            request, "setup.html", {"visit": None, "link": None, "token": "", "email": "", "error": None}, 410
        )
    email = link.user.email if link.user is not None else ""
    return render(
        request,
        "setup.html",
        {
            "visit": None,
            "link": link,
            "first": link.purpose == FIRST_ADMIN,
            "token": token,
            "email": email,
            "error": None,
        },
    )


async def setup(request: Request) -> Response:
    form = await read_form(request)
    token = form.get("t", "")
    the_console = console(request)
    now = the_console.runtime.clock()
    link = await the_console.accounts.link(token, now)
    error: str | None = None
    if link is None:
        error = "This link has expired or was already used; ask for a new one."
    elif form.get("password", "") != form.get("confirm", ""):
        error = "The two passwords differ."
    else:
        try:
            user = await the_console.accounts.use_link(token, form.get("password", ""), now, email=form.get("email"))
        except AccountError as exc:
            error = exc.message
        else:
            session_id, _ = await the_console.accounts.open_session(user, now)
            response = RedirectResponse("/admin/", status_code=303)
            set_cookie(request, response, session_id)
            return response
    email = form.get("email", "") if link is None or link.user is None else link.user.email
    context = {"visit": None, "link": link, "first": link is not None and link.purpose == FIRST_ADMIN}
    return render(request, "setup.html", {**context, "token": token, "email": email, "error": error}, 400)


# ---- pages ------------------------------------------------------------------------------


@requires("console")
async def home(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    return _page(request, visit, "home.html")


@requires("leads.read")
async def leads(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = _runtime(request)
    params = request.query_params
    try:
        site = console_site(runtime, params.get("site"))
        wanted = lead_filter(site, params)
        limit = int_param(params.get("limit"), "limit", minimum=1, maximum=MAX_LIMIT, default=PAGE_SIZE)
        cursor = decode_cursor(params["cursor"]) if params.get("cursor") else None
    except HTTPError as exc:
        return _page(request, visit, "error.html", exc.status, title="Cannot list these leads", message=exc.message)
    at = cursor.at if cursor is not None else runtime.clock()
    page, following = await lead_page(runtime.store, site, wanted, limit, cursor, at)
    rows = await runtime.store.read(lambda q: _summaries(q, site, page, at))
    kept = {k: v for k, v in params.items() if k != "cursor" and v}
    kept["site"] = site.key
    return _page(
        request,
        visit,
        "leads.html",
        site=site,
        leads=rows,
        wanted=wanted,
        params=params,
        scores=list(site.programme.scoring.scores),
        as_of=iso(at),
        next_url=f"/admin/leads?{urlencode({**kept, 'cursor': encode_cursor(following)})}" if following else None,
        export_url=f"/api/exports/leads.csv?{urlencode(kept)}",
    )


@requires("leads.read")
async def lead(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = _runtime(request)
    try:
        person_id = int_param(request.path_params["person_id"], "person_id")
    except HTTPError:
        person_id = None
    now = runtime.clock()

    async def read(q: Queries) -> dict[str, Any] | None:
        resolved = await q.resolve_person_id(person_id) if person_id is not None else None
        person = await q.person(resolved) if resolved is not None else None
        site = runtime.sites.by_id(person.site_id) if person is not None else None
        if site is None or person_id is None:
            return None
        story = await lead_story(q, site, person_id, now)
        return {"story": story, "site": site} if story is not None else None

    found = await runtime.store.read(read)
    if found is None:
        return _page(
            request, visit, "error.html", 404, title="No such lead", message="This lead does not exist (any more)."
        )
    site = found["site"]
    scores = site.programme.scoring.scores
    return _page(
        request,
        visit,
        "lead.html",
        lead=found["story"],
        site=site,
        thresholds={name: (score.mql, score.sql) for name, score in scores.items()},
    )
