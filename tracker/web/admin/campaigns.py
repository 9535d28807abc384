"""The campaign editor (marketing): the site's campaigns, one campaign's form, its live preview
and who it would reach now.

Saving goes through ``services.campaigns`` (the programme's TOML edited around the campaign,
then ``programmes.publish``); the preview is the beacon itself (``/t.js``) rendering the
draft's decision in a sandboxed frame, so it is what visitors get.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tracker.domain.audience import state_targeting
from tracker.domain.decisions import KINDS, MAX_FORM_FIELDS, compile_campaigns, is_campaign_id
from tracker.domain.facts import STAGES
from tracker.domain.programme.campaign_edit import CampaignMissing, campaign_tables
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.sites import Site
from tracker.domain.targeting import DEVICES, UTM_KEYS
from tracker.errors import HTTPError
from tracker.services.campaigns import audience, delete_campaign, save_campaign
from tracker.services.programmes import StalePublish, current_version
from tracker.services.runtime import Runtime
from tracker.web.admin import campaign_words as words
from tracker.web.admin.campaign_form import (
    FormError,
    blank,
    input_of,
    table_of,
    values_of,
)
from tracker.web.admin.experiments import experiment_view
from tracker.web.admin.i18n import LANGUAGES, gettext
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.render import environment, reader, render
from tracker.web.admin.session import Visit, requires
from tracker.web.auth import console_site

# Paths of the console itself: a campaign with one of these ids could not be opened.
RESERVED_IDS = frozenset({"new", "preview", "audience"})
# Inputs the preview and the editor share; the rest (csrf, comment, base version) is the form's own.
_NOT_CAMPAIGN = frozenset({"csrf", "comment", "base_version", "action"})
EMPTY_FIELD_ROWS = 2
# The preview page runs the beacon and nothing else: no request leaves it (connect-src 'none'),
# it only shows inside the console (frame-ancestors 'self').  The beacon styles its widget with
# a <style> element inside its shadow root, as on any site.
PREVIEW_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src data:; "
        "connect-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
    ),
    "x-frame-options": "SAMEORIGIN",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def _actor(visit: Visit) -> str:
    return f"user:{visit.session.user.id}"


def _site_or_error(request: Request, visit: Visit, key: str | None) -> Site | Response:
    try:
        return console_site(runtime_of(request), key)
    except HTTPError as exc:
        title = gettext(reader(request, visit)[0], "No programme")
        return show_page(request, visit, "error.html", exc.status, title=title, message=exc.message)


# ---- the list -------------------------------------------------------------------------------


@requires("campaigns.edit")
async def campaign_list(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    site = _site_or_error(request, visit, request.query_params.get("site"))
    if isinstance(site, Response):
        return site
    language, _ = reader(request, visit)
    rows = [
        {
            "id": campaign_id,
            "kind": table.get("kind", ""),
            "priority": table.get("priority", 0),
            "title": table.get("title") or table.get("text") or table.get("opener") or "",
            "targeting": words.targeting(language, table.get("when")),
            "trigger": words.trigger(language, table.get("trigger", "immediate")),
            "caps": words.caps(language, table),
            "experiment": campaign_id in site.programme.experiments,
        }
        for campaign_id, table in campaign_tables(site.programme.source).items()
    ]
    # Highest priority first, ties in programme order: the order in which decisions pick them.
    rows.sort(key=lambda row: -row["priority"] if isinstance(row["priority"], int) else 0)
    return show_page(
        request,
        visit,
        "campaigns.html",
        site=site,
        campaigns=rows,
        deleted=request.query_params.get("deleted", ""),
    )


# ---- the editor -----------------------------------------------------------------------------


@requires("campaigns.edit")
async def campaign_new(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    site = _site_or_error(request, visit, request.query_params.get("site"))
    if isinstance(site, Response):
        return site
    kind = request.query_params.get("kind", "popup")
    return await _editor(request, visit, site, None, blank(kind if kind in KINDS else "popup"), {})


@requires("campaigns.edit")
async def campaign_edit(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    site = _site_or_error(request, visit, request.query_params.get("site"))
    if isinstance(site, Response):
        return site
    campaign_id = request.path_params["campaign_id"]
    table = campaign_tables(site.programme.source).get(campaign_id)
    if table is None:
        return _missing(request, visit, campaign_id)
    saved = request.query_params.get("saved") is not None
    return await _editor(request, visit, site, campaign_id, values_of(table), {}, saved=saved)


@requires("campaigns.edit")
async def campaign_save(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    await runtime.sites.refresh()  # save onto the newest programme this server can see
    site = _site_or_error(request, visit, form.get("site"))
    if isinstance(site, Response):
        return site
    original = request.path_params.get("campaign_id")
    tables = campaign_tables(site.programme.source)
    values = {key: value for key, value in form.items() if key not in _NOT_CAMPAIGN}
    language, _ = reader(request, visit)
    if original is not None and original not in tables:
        # Deleted by someone else meanwhile: the user's input comes back as a new campaign.
        message = gettext(language, "This campaign was deleted meanwhile; saving creates it again.")
        fresh = {**form, "base_version": str(await current_version(runtime.store, site.id))}
        return await _editor(request, visit, site, None, values, {"top": message}, form=fresh, status=409)
    names = list(site.programme.scoring.scores)
    errors: dict[str, str] = {}
    try:
        table = table_of(values, names, tables.get(original or "", {}))
    except FormError as exc:
        errors[exc.name], table = gettext(language, exc.message, **exc.values), {}
    new_id = values.get("id", "").strip()
    if new_id in RESERVED_IDS:
        errors["id"] = gettext(language, "This id is a console path; choose another.")
    elif new_id != original and new_id in tables:
        errors["id"] = gettext(language, "Another campaign already has this id.")
    if errors or form.get("action") == "preview":
        return await _editor(request, visit, site, original, values, errors, form=form)
    try:
        await save_campaign(
            runtime.store,
            site,
            original,
            table,
            base_version=_base_version(form),
            author=_actor(visit),
            comment=form.get("comment", "").strip() or f"campaign {new_id} edited in the console",
            now=runtime.clock(),
        )
    except ProgrammeError as exc:
        errors[input_of(exc.where, names) or "top"] = exc.message
        return await _editor(request, visit, site, original, values, errors, form=form)
    except StalePublish as exc:
        return await _stale(request, visit, runtime, original, values, form, exc)
    await runtime.sites.refresh()
    query = urlencode({"site": site.key, "saved": "1"})
    return RedirectResponse(f"/admin/campaigns/{new_id}?{query}", status_code=303)


@requires("campaigns.edit")
async def campaign_delete(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    await runtime.sites.refresh()
    site = _site_or_error(request, visit, form.get("site"))
    if isinstance(site, Response):
        return site
    campaign_id = request.path_params["campaign_id"]
    table = campaign_tables(site.programme.source).get(campaign_id)
    if table is None:
        return _missing(request, visit, campaign_id)
    try:
        await delete_campaign(
            runtime.store,
            site,
            campaign_id,
            base_version=_base_version(form),
            author=_actor(visit),
            comment=form.get("comment", "").strip() or f"campaign {campaign_id} deleted in the console",
            now=runtime.clock(),
        )
    except (StalePublish, CampaignMissing) as exc:
        return await _stale(request, visit, runtime, campaign_id, values_of(table), form, exc)
    except ProgrammeError as exc:  # another part of the programme named this campaign
        errors = {"top": exc.message}
        return await _editor(request, visit, site, campaign_id, values_of(table), errors, form=form)
    await runtime.sites.refresh()
    return RedirectResponse(f"/admin/campaigns?{urlencode({'site': site.key, 'deleted': campaign_id})}", 303)


def _targeting_input(name: str) -> bool:
    return name in _NOT_CAMPAIGN or name in ("site", "lang") or name.startswith(("when_", "score_", "utm_"))


def _base_version(form: dict[str, str]) -> int:
    raw = form.get("base_version", "")
    return int(raw) if raw.isdigit() else -1  # a forged or missing version is stale by definition


async def _stale(
    request: Request,
    visit: Visit,
    runtime: Runtime,
    original: str | None,
    values: dict[str, str],
    form: dict[str, str],
    exc: Exception,
) -> Response:
    """Someone published in between: the user's input comes back, over the newest programme."""
    await runtime.sites.refresh()
    site = console_site(runtime, form.get("site"))
    language, _ = reader(request, visit)
    detail = exc.message if isinstance(exc, HTTPError | ProgrammeError) else str(exc)
    version = await current_version(runtime.store, site.id)
    message = gettext(
        language,
        "The programme was published by someone else since you opened this page (%(detail)s). Nothing was saved; "
        "your input is kept below. Check it against version %(version)s and save again.",
        detail=detail,
        version=version,
    )
    fresh = {**form, "base_version": str(version)}
    return await _editor(request, visit, site, original, values, {"top": message}, form=fresh, status=409)


def _missing(request: Request, visit: Visit, campaign_id: str) -> Response:
    language, _ = reader(request, visit)
    message = gettext(language, "There is no campaign %(id)s (any more).", id=campaign_id)
    return show_page(request, visit, "error.html", 404, title=gettext(language, "No such campaign"), message=message)


async def _editor(
    request: Request,
    visit: Visit,
    site: Site,
    original: str | None,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    form: dict[str, str] | None = None,
    saved: bool = False,
    status: int | None = None,
) -> Response:
    language, _ = reader(request, visit)
    runtime = runtime_of(request)
    names = list(site.programme.scoring.scores)
    preview_language = (form or {}).get("lang") or request.query_params.get("lang") or language
    found = await _who(runtime, site, values, names)
    rows = sum(
        1 for row in range(MAX_FORM_FIELDS) if values.get(f"field_name_{row}") or values.get(f"field_label_{row}")
    )
    query = {"site": site.key, "lang": preview_language, **values}
    return show_page(
        request,
        visit,
        "campaign.html",
        status if status is not None else (400 if errors else 200),
        site=site,
        original=original,
        values={**values, "comment": (form or {}).get("comment", "")},
        errors=errors,
        saved=saved,
        base_version=(form or {}).get("base_version") or await current_version(runtime.store, site.id),
        kind_options=[(kind, gettext(language, kind)) for kind in KINDS],
        stages=STAGES,
        devices=DEVICES,
        utm_keys=UTM_KEYS,
        scores=names,
        field_rows=min(MAX_FORM_FIELDS, rows + EMPTY_FIELD_ROWS),
        languages=LANGUAGES,
        preview_language=preview_language,
        preview_url=f"/admin/campaigns/preview?{urlencode(query)}",
        audience=found,
        visit_keys_words=_visit_words(language, found),
        experiment=await experiment_view(runtime, site, original, language) if original else None,
    )


async def _who(runtime: Runtime, site: Site, values: dict[str, str], names: list[str]) -> dict[str, Any] | None:
    """ "Who would see it now" for the targeting in ``values``; None while it does not compile."""
    try:
        when = table_of(values, names, {}).get("when", {})
        targeting = state_targeting(when, names, grade=site.programme.grade)
    except (FormError, ProgrammeError):
        return None
    found = await audience(runtime.store, site, targeting, runtime.clock())
    return {"found": found, "visit_keys": targeting.visit_keys}


@requires("campaigns.edit")
async def campaign_audience(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """Only the "who would see it now" block, for the draft in the query (htmx swaps it in as the user types)."""
    site = _site_or_error(request, visit, request.query_params.get("site"))
    if isinstance(site, Response):
        return site
    language, _ = reader(request, visit)
    values = {key: value for key, value in request.query_params.items() if key not in _NOT_CAMPAIGN}
    found = await _who(runtime_of(request), site, values, list(site.programme.scoring.scores))
    return render(
        request,
        "campaign_audience.html",
        {"visit": visit, "audience": found, "visit_keys_words": _visit_words(language, found)},
    )


def _visit_words(language: str, found: dict[str, Any] | None) -> str:
    return words.visit_keys(language, found["visit_keys"]) if found else ""


# ---- the preview ----------------------------------------------------------------------------


@requires("campaigns.edit")
async def campaign_preview(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """The draft rendered by the beacon, as a page for the editor's sandboxed frame."""
    params = request.query_params
    wanted = params.get("lang", "")
    language = wanted if wanted in LANGUAGES else reader(request, visit)[0]
    context: dict[str, Any] = {"lang": language, "decision": None, "slot": None, "problem": None}
    try:
        site = console_site(runtime_of(request), params.get("site"))
        # The preview shows the campaign; its targeting is for "who would see it now".
        values = {key: value for key, value in params.items() if not _targeting_input(key)}
        table = table_of(values, (), {})
        # An id still being typed must not hide the rest of the preview.
        table["id"] = table["id"] if is_campaign_id(table["id"]) else "preview"
        (campaign,) = compile_campaigns([table], site.programme.scoring.scores.keys(), site.programme.grade)
    except (FormError, ProgrammeError, HTTPError) as exc:
        message = gettext(language, exc.message, **exc.values) if isinstance(exc, FormError) else exc.message
        context["problem"] = gettext(language, "Nothing to preview yet: %(problem)s", problem=message)
    else:
        decision = campaign.decision().to_json()
        context.update(decision=orjson.dumps(decision).decode(), slot=decision.get("slot"))
    page = environment(language).get_template("campaign_preview.html").render(context)
    return HTMLResponse(page, headers=PREVIEW_HEADERS)
