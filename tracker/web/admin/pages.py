"""What every console page shares (``show_page``, ``runtime_of``), and the pages that belong to no area:
signing in and out, first run, and the console's own files.  Each area (dashboard, leads,
programme, campaigns, thresholds…) has its module and calls what the API calls.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.services.console_users import FIRST_ADMIN, ConsoleUserError
from tracker.services.runtime import Runtime
from tracker.web.admin.i18n import N_, gettext
from tracker.web.admin.render import asset, reader, render
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

SIGN_IN_FAILED = N_("Wrong e-mail or password.")
ASSET_HEADERS = {"cache-control": "public, max-age=3600"}  # nosniff comes from web.nosniff, as everywhere


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _local_target(raw: str | None) -> str:
    """Where to go after signing in: a console path of ours, never another host."""
    if raw and raw.startswith("/admin") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/admin/"


def show_page(request: Request, visit: Visit, template: str, status: int = 200, **context: Any) -> Response:
    sites = runtime_of(request).sites.all()
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
    language = reader(request, None)[0]
    email, password, target = form.get("email", ""), form.get("password", ""), form.get("next", "")
    the_console = console(request)
    wait = the_console.throttled(request, email)
    if wait > 0:
        seconds = max(1, round(wait))
        message = gettext(language, "Too many sign-in attempts. Try again in %(seconds)s seconds.", seconds=seconds)
        context = {"visit": None, "email": email, "error": message, "next": target}
        response = render(request, "login.html", context, 429)
        response.headers["retry-after"] = str(max(1, round(wait)))
        return response
    now = the_console.runtime.clock()
    user = await the_console.console_users.sign_in(email, password, now)
    if user is None:
        return render(
            request,
            "login.html",
            {"visit": None, "email": email, "error": gettext(language, SIGN_IN_FAILED), "next": target},
            401,
        )
    session_id, _ = await the_console.console_users.open_session(user, now)
    response = RedirectResponse(_local_target(target), status_code=303)
    set_cookie(request, response, session_id)
    return response


@requires("console")
async def logout(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    await console(request).console_users.close_session(visit.session_id)
    response = RedirectResponse(LOGIN, status_code=303)
    clear_cookie(request, response)
    return response


async def setup_form(request: Request) -> Response:
    token = request.query_params.get("t", "")
    the_console = console(request)
    link = await the_console.console_users.link(token, the_console.runtime.clock())
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
    language = reader(request, None)[0]
    token = form.get("t", "")
    the_console = console(request)
    now = the_console.runtime.clock()
    link = await the_console.console_users.link(token, now)
    error: str | None = None
    if link is None:
        error = gettext(language, "This link has expired or was already used; ask for a new one.")
    elif form.get("password", "") != form.get("confirm", ""):
        error = gettext(language, "The two passwords differ.")
    else:
        try:
            user = await the_console.console_users.use_link(
                token, form.get("password", ""), now, email=form.get("email")
            )
        except ConsoleUserError as exc:
            error = exc.message
        else:
            session_id, _ = await the_console.console_users.open_session(user, now)
            response = RedirectResponse("/admin/", status_code=303)
            set_cookie(request, response, session_id)
            return response
    email = form.get("email", "") if link is None or link.user is None else link.user.email
    context = {"visit": None, "link": link, "first": link is not None and link.purpose == FIRST_ADMIN}
    return render(request, "setup.html", {**context, "token": token, "email": email, "error": error}, 400)
