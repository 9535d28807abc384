"""``/admin/settings``: what each user chooses for themselves — the console's language and the
time zone dates are shown in."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.web.admin.i18n import LANGUAGE_NAMES, LANGUAGES, gettext
from tracker.web.admin.render import reader, render
from tracker.web.admin.session import Visit, console, requires


@cache
def time_zones() -> list[str]:
    return sorted(available_timezones() | {"UTC"})


def _form(request: Request, visit: Visit, locale: str, timezone: str, errors: dict[str, str], status: int) -> Response:
    context = {
        "visit": visit,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "zones": time_zones(),
        "locale": locale,
        "timezone": timezone,
        "errors": errors,
        "saved": request.query_params.get("saved") == "1",
    }
    return render(request, "settings.html", context, status)


@requires("console")
async def settings_form(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    user = visit.session.user
    return _form(request, visit, user.locale or "", user.timezone or "", {}, 200)


@requires("console")
async def save_settings(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    locale, timezone = form.get("locale", ""), form.get("timezone", "")
    language = reader(request, visit)[0]
    errors: dict[str, str] = {}
    if locale and locale not in LANGUAGES:
        errors["locale"] = gettext(language, "Choose one of the listed languages.")
    if timezone and timezone not in time_zones():
        errors["timezone"] = gettext(language, "Choose one of the listed time zones.")
    if errors:
        return _form(request, visit, locale, timezone, errors, 400)
    await console(request).console_users.save_settings(
        visit.session.user.id, locale=locale or None, timezone=timezone or None
    )
    return RedirectResponse("/admin/settings?saved=1", status_code=303)
