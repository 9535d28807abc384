"""Templates under templates/admin/, rendered with autoescaping in the reader's language, and the
console's headers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from functools import cache
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from tracker.assets import asset_root
from tracker.domain.roles import may
from tracker.web.admin import i18n

# No inline script or style anywhere in the console: what a visitor typed can never run.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
    "vary": "accept-language, cookie",
}


@jinja2.pass_context
def _moment(context: jinja2.runtime.Context, ts: float | None) -> str:
    return i18n.moment(ts, context["language"], context["tz"]) if ts is not None else ""


@jinja2.pass_context
def _moment_full(context: jinja2.runtime.Context, ts: float | None) -> str:
    return i18n.moment_full(ts, context["language"], context["tz"]) if ts is not None else ""


@jinja2.pass_context
def _day(context: jinja2.runtime.Context, ts: float | None) -> str:
    return i18n.day(ts, context["language"], context["tz"]) if ts is not None else ""


@jinja2.pass_context
def _number(context: jinja2.runtime.Context, value: float | None) -> str:
    return i18n.number(value, context["language"]) if value is not None else ""


@cache
def environment(language: str = i18n.DEFAULT_LANGUAGE) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(asset_root() / "templates" / "admin"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # newstyle: placeholders are filled by gettext itself and the result is escaped like any value.
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(moment=_moment, moment_full=_moment_full, day=_day, number=_number)
    return env


def reader(request: Request, visit: Any) -> tuple[str, tzinfo]:
    """The language and time zone a page is shown in: the user's settings, else the browser's."""
    user = visit.session.user if visit is not None else None
    language = i18n.language_of(user.locale if user is not None else None, request.headers.get("accept-language", ""))
    return language, i18n.zone(user.timezone if user is not None else None)


def render(request: Request, template: str, context: Mapping[str, Any], status: int = 200) -> Response:
    visit = context.get("visit")
    role = visit.role if visit is not None else None
    language, tz = reader(request, visit)
    # What the signed-in role may open: the navigation shows only that.
    defaults = {
        "request": request,
        "language": language,
        "tz": tz,
        "may": lambda permission: role is not None and may(role, permission),
    }
    page = environment(language).get_template(template).render({**defaults, **context})
    return HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)


# The console's own files, served by tracker (nothing from a CDN): URL name → (file, media type).
ASSETS = {
    "console.css": ("templates/admin/console.css", "text/css; charset=utf-8"),
    "console.js": ("js/console.js", "text/javascript; charset=utf-8"),
    "htmx.js": ("js/vendor/htmx-2.0.4.min.js", "text/javascript; charset=utf-8"),
}


@cache
def asset(name: str) -> tuple[bytes, str]:
    path, media_type = ASSETS[name]
    return (asset_root() / path).read_bytes(), media_type
