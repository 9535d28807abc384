"""The console's programme pages for reading: the active programme as tables, its versions, any
version and its diff, export; and the actions on whole versions: roll back, clone, import.

Editing (tokens, scores, rules, the TOML, publishing) is in ``programme_edit``.  Every change
goes through ``services.programmes`` like the CLI's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.describe import describe
from tracker.domain.programme.diff import line_diff, summary
from tracker.domain.programme.edit import keep_thresholds
from tracker.domain.programme.load import load_programme
from tracker.errors import HTTPError
from tracker.services import programmes
from tracker.services.programmes import History, StalePublish, ThresholdsNeedAgreement
from tracker.web.admin.i18n import gettext, moment
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.render import reader
from tracker.web.admin.session import Visit, requires
from tracker.web.auth import console_site
from tracker.web.params import int_param


async def site_history(request: Request, key: str | None) -> History:
    """The named (or first) site's versions, read from the store: what is published, not what is cached."""
    return await programmes.history(runtime_of(request).store, console_site(runtime_of(request), key).key)


def changes(old_source: str, new_source: str) -> dict[str, Any]:
    """The summary in words and the line diff between two programme texts."""
    try:
        words = summary(load_programme(old_source), load_programme(new_source)) if old_source else []
    except ProgrammeError:
        words = []
    return {"summary": words, "lines": line_diff(old_source, new_source)}


def no_programme(request: Request, visit: Visit, exc: HTTPError) -> Response:
    language, _ = reader(request, visit)
    title = gettext(language, "No programme")
    return show_page(request, visit, "error.html", exc.status, title=title, message=exc.message)


@requires("programme.read")
async def programme(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    try:
        history = await site_history(request, request.query_params.get("site"))
        tables = describe(load_programme(history.site.programme)) if history.site.programme else None
    except (HTTPError, ProgrammeError) as exc:
        return no_programme(request, visit, exc if isinstance(exc, HTTPError) else HTTPError(str(exc)))
    return show_page(
        request,
        visit,
        "programme.html",
        site=history.site,
        tables=tables,
        current=history.versions[0] if history.versions else None,
    )


@requires("programme.read")
async def versions(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    return await versions_page(request, visit, request.query_params.get("site"))


async def versions_page(
    request: Request,
    visit: Visit,
    site_key: str | None,
    *,
    errors: dict[str, str] | None = None,
    thresholds: list[str] | None = None,
    thresholds_site: str | None = None,
) -> Response:
    """The history; after a refused roll back or clone, with the error beside the form it concerns."""
    try:
        history = await site_history(request, site_key)
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    return show_page(
        request,
        visit,
        "programme_versions.html",
        site=history.site,
        history=history,
        errors=errors or {},
        thresholds=thresholds or [],
        thresholds_site=thresholds_site or history.site.key,
        others=[s for s in runtime_of(request).sites.all() if s.key != history.site.key],
    )


@requires("programme.read")
async def version(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """One version: who, when, why, its TOML, and what it changed (against the previous or ``against``)."""
    params = request.query_params
    try:
        history = await site_history(request, params.get("site"))
        number = int_param(params.get("n"), "n", minimum=1, default=max(history.current, 1))
        against = int_param(params.get("against"), "against", minimum=0, default=number - 1)
        store, key = runtime_of(request).store, history.site.key
        record, source = await programmes.version_source(store, key, number)
        old = (await programmes.version_source(store, key, against))[1] if against >= 1 else ""
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    return show_page(
        request,
        visit,
        "programme_version.html",
        site=history.site,
        history=history,
        record=record,
        source=source,
        against=against,
        diff=changes(old, source),
    )


@requires("programme.read")
async def export(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """A version's TOML as a file (the active one by default)."""
    params = request.query_params
    try:
        history = await site_history(request, params.get("site"))
        number = int_param(params.get("n"), "n", minimum=1, default=max(history.current, 1))
        _, source = await programmes.version_source(runtime_of(request).store, history.site.key, number)
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    filename = f"{history.site.key}-programme-v{number}.toml"
    return Response(
        source,
        media_type="application/toml; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"},
    )


@requires("programme.edit")
async def rollback(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """Publish an old version again as a new one (with a comment saying why)."""
    language, _ = reader(request, visit)
    runtime = runtime_of(request)
    try:
        history = await site_history(request, form.get("site"))
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    try:
        number = int_param(form.get("n"), "n", minimum=1)
        base = int_param(form.get("base_version"), "base_version", minimum=0)
    except HTTPError as exc:
        return await versions_page(request, visit, history.site.key, errors={"form": exc.message})
    comment = form.get("comment", "").strip()
    site_key = history.site.key
    if not comment:
        return await versions_page(
            request, visit, site_key, errors={f"rollback:{number}": gettext(language, "Say why.")}
        )
    try:
        _, source = await programmes.version_source(runtime.store, history.site.key, number)
        if form.get("keep_thresholds"):
            source = keep_active_thresholds(source, history.site.programme)
        done = await programmes.publish(
            runtime.store,
            history.site.key,
            source,
            base_version=base,
            author=visit.session.user.email,
            comment=comment,
            now=runtime.clock(),
            origin=programmes.ROLLBACK,
        )
    except ThresholdsNeedAgreement as exc:
        return await versions_page(
            request, visit, site_key, errors={f"rollback:{number}": exc.message}, thresholds=list(exc.extra["changes"])
        )
    except (ProgrammeError, HTTPError) as exc:
        return await versions_page(
            request, visit, site_key, errors={f"rollback:{number}": stale_words(request, visit, exc)}
        )
    await runtime.sites.refresh()
    return _to_version(history.site.key, done.version)


@requires("programme.edit")
async def clone(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """Publish a version of this site on another site (Marketo's cloning, seed 004)."""
    language, _ = reader(request, visit)
    runtime = runtime_of(request)
    try:
        history = await site_history(request, form.get("site"))
        number = int_param(form.get("n"), "n", minimum=1, default=max(history.current, 1))
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    site_key = history.site.key
    target, comment = form.get("target", ""), form.get("comment", "").strip()
    if runtime.sites.get(target) is None or target == history.site.key:
        return await versions_page(
            request, visit, site_key, errors={"clone": gettext(language, "Choose another site.")}
        )
    if not comment:
        return await versions_page(request, visit, site_key, errors={"clone": gettext(language, "Say why.")})
    try:
        done = await programmes.clone(
            runtime.store,
            history.site.key,
            number,
            target,
            author=visit.session.user.email,
            comment=comment,
            now=runtime.clock(),
        )
    except ThresholdsNeedAgreement as exc:
        return await versions_page(
            request,
            visit,
            site_key,
            errors={"clone": exc.message},
            thresholds=list(exc.extra["changes"]),
            thresholds_site=target,
        )
    except (ProgrammeError, HTTPError) as exc:
        return await versions_page(request, visit, site_key, errors={"clone": stale_words(request, visit, exc)})
    await runtime.sites.refresh()
    return _to_version(target, done.version)


def keep_active_thresholds(source: str, active: str) -> str:
    """``source`` with the active programme's MQL/SQL thresholds: publish the rest, propose those."""
    return keep_thresholds(source, load_programme(active).thresholds()) if active else source


def stale_words(request: Request, visit: Visit, exc: Exception) -> str:
    """A refused publish in the reader's words: who published since, and when."""
    language, tz = reader(request, visit)
    if isinstance(exc, StalePublish):
        return (
            gettext(language, "Refused: someone published since you started.")
            + " "
            + "; ".join(
                gettext(
                    language,
                    "version %(n)s was published by %(who)s on %(when)s",
                    n=item["version"],
                    who=item["author"],
                    when=moment(item["at"], language, tz),
                )
                for item in exc.extra["published"]
            )
        )
    return exc.message if isinstance(exc, HTTPError) else str(exc)


def _to_version(site_key: str, number: int) -> Response:
    return RedirectResponse(f"/admin/programme/version?{urlencode({'site': site_key, 'n': number})}", status_code=303)
