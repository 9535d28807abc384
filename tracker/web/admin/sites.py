"""/admin/sites (admin): every site with its origins, consent and privacy settings and internal
ranges; create one; edit one (``/admin/sites/{key}``) with each error next to its field; the
snippet to paste, with its site key — through ``services.site_settings``, as ``tracker sites add``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.privacy import CONSENT_MODES, IP_MODES, SIGNAL_MODES, PrivacySettings
from tracker.domain.sites import INTERNAL_SETTING
from tracker.services.site_settings import PRIVACY_FIELDS, SiteChange, SiteErrors, save_settings
from tracker.store import SiteRecord
from tracker.web.admin import i18n
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.render import reader
from tracker.web.admin.session import Visit, requires

CHOICES = {"consent": CONSENT_MODES, "dnt": SIGNAL_MODES, "gpc": SIGNAL_MODES, "ip": IP_MODES}


def snippet(request: Request, site: SiteRecord) -> str:
    """The tag a site pastes into its pages (js/README.md, Embedding)."""
    consent = ' data-consent="required"' if PrivacySettings.from_json(site.settings).consent == "required" else ""
    return f'<script async src="{str(request.base_url).rstrip("/")}/t.js" data-site="{site.key}"{consent}></script>'


def form_of(site: SiteRecord) -> dict[str, str]:
    """A site's settings as the edit form's fields."""
    privacy = asdict(PrivacySettings.from_json(site.settings))
    fields = {name: "" if privacy[name] is None else str(privacy[name]) for name in PRIVACY_FIELDS}
    internal = site.settings.get(INTERNAL_SETTING, [])
    return {"name": site.name, "origins": "\n".join(site.origins), "internal": "\n".join(internal), **fields}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def _days(raw: str) -> int | str | None:
    """A days field: blank is None ("never", for identified people), digits a number; anything else
    stays itself so the check names it."""
    raw = raw.strip()
    return None if not raw else int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else raw


def change_of(form: dict[str, str]) -> SiteChange:
    privacy: dict[str, Any] = {name: form.get(name, "") for name in CHOICES}
    anonymous = _days(form.get("retention_anonymous_days", ""))
    privacy["retention_anonymous_days"] = "" if anonymous is None else anonymous  # required: blank is named
    privacy["retention_identified_days"] = _days(form.get("retention_identified_days", ""))
    return SiteChange(
        name=form.get("name", ""),
        origins=_lines(form.get("origins", "")),
        privacy=privacy,
        internal=_lines(form.get("internal", "")),
    )


async def _records(request: Request) -> list[SiteRecord]:
    # From the store, not the registry: a site made a moment ago on another instance shows too.
    return await runtime_of(request).store.read(lambda q: q.sites())


@requires("sites.manage")
async def sites_page(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    return await _listing(request, visit)


async def _listing(request: Request, visit: Visit, status: int = 200, **context: Any) -> Response:
    records = await _records(request)
    rows = [(record, PrivacySettings.from_json(record.settings)) for record in records]
    new = context.pop("new", {"key": "", "name": ""})
    errors = context.pop("errors", {})
    return show_page(request, visit, "sites.html", status, rows=rows, new=new, errors=errors, **context)


@requires("sites.manage")
async def create_site(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    key, name = form.get("key", "").strip(), form.get("name", "").strip()
    change = SiteChange(name=name or key)
    try:
        await save_settings(
            runtime.store, key, change, create=True, actor=f"user:{visit.session.user.id}", now=runtime.clock()
        )
    except SiteErrors as exc:
        return await _listing(request, visit, 400, new={"key": key, "name": name}, errors=exc.errors)
    await runtime.sites.refresh()
    return RedirectResponse(f"/admin/sites/{key}", status_code=303)


async def _site_page(
    request: Request, visit: Visit, site: SiteRecord, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    return show_page(
        request,
        visit,
        "site.html",
        status,
        site=site,
        values=values,
        errors=errors,
        choices=CHOICES,
        snippet=snippet(request, site),
        saved=request.query_params.get("saved") == "1",
    )


async def _record(request: Request) -> SiteRecord | None:
    key = request.path_params["key"]
    return await runtime_of(request).store.read(lambda q: q.site_by_key(key))


def _missing(request: Request, visit: Visit) -> Response:
    language = reader(request, visit)[0]
    title, message = i18n.gettext(language, "No such site"), i18n.gettext(language, "This site does not exist.")
    return show_page(request, visit, "error.html", 404, title=title, message=message)


@requires("sites.manage")
async def site_page(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    site = await _record(request)
    if site is None:
        return _missing(request, visit)
    return await _site_page(request, visit, site, form_of(site), {})


@requires("sites.manage")
async def save_site(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    site = await _record(request)
    if site is None:
        return _missing(request, visit)
    try:
        await save_settings(
            runtime.store,
            site.key,
            change_of(form),
            create=False,
            actor=f"user:{visit.session.user.id}",
            now=runtime.clock(),
        )
    except SiteErrors as exc:
        values = {name: form.get(name, "") for name in form_of(site)}
        return await _site_page(request, visit, site, values, exc.errors, 400)
    await runtime.sites.refresh()
    return RedirectResponse(f"/admin/sites/{site.key}?saved=1", status_code=303)
