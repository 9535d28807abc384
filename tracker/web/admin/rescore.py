"""The console's re-scoring: a rescore job started from the console that carries on in the background
(``services.rescore``) with its progress polled by htmx (reloaded without JS), and the summary both it
and the what-if (``web.admin.what_if``) show.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.rescoring import band_labels
from tracker.errors import HTTPError
from tracker.services import rescore
from tracker.services.background import Background
from tracker.services.programmes import current_version
from tracker.services.rescore import RescoreRunning
from tracker.services.what_if import named
from tracker.web.admin.charts import share
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.programme_pages import no_programme
from tracker.web.admin.render import render
from tracker.web.admin.session import Visit, requires
from tracker.web.auth import console_site


def band_rows(score: dict[str, Any]) -> list[tuple[str, int, int]]:
    """A score's bands as (label, people now, people after)."""
    return list(zip(band_labels(score["edges"]), score["before"], score["after"], strict=True))


def summary_view(summary: dict[str, Any]) -> dict[str, Any]:
    """What the summary template shows: the summary, and each score's band rows with its bars' scale."""
    bands: dict[str, Any] = {}
    for name, score in summary["scores"].items():
        rows = band_rows(score)
        bands[name] = {"rows": rows, "top": max([count for _, now, after in rows for count in (now, after)] + [1])}
    return {"summary": summary, "bands": bands}


async def _status(request: Request, key: str | None) -> dict[str, Any]:
    site = console_site(runtime_of(request), key)
    store = runtime_of(request).store
    _, job = await rescore.latest(store, site.key)
    return {
        "site": site,
        "job": job,
        "version": await current_version(store, site.id),
        "running": job is not None and rescore.is_running(job, runtime_of(request).clock()),
        "view": summary_view(await named(store, job.summary))
        if job is not None and job.status == rescore.DONE
        else None,
        "share": share,
    }


@requires("programme.edit")
async def rescore_page(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    try:
        status = await _status(request, request.query_params.get("site"))
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    return show_page(request, visit, "rescore.html", **status, refused=None)


@requires("programme.edit")
async def rescore_progress(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """Only the progress block, for htmx to swap in every second while the job runs."""
    try:
        status = await _status(request, request.query_params.get("site"))
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    return render(request, "rescore_progress.html", {"visit": visit, **status})


@requires("programme.edit")
async def start_rescore(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """Start (or resume) the site's rescore in the background; refused, naming the job, while one runs."""
    runtime = runtime_of(request)
    try:
        site = console_site(runtime, form.get("site"))
        job = await rescore.start(runtime.store, site.key, author=visit.session.user.email, now=runtime.clock())
    except RescoreRunning:
        status = await _status(request, form.get("site"))
        return show_page(request, visit, "rescore.html", 409, **status, refused=status["job"])
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    background: Background = request.app.state.background
    background.start(rescore.run(runtime.store, job.id, clock=runtime.clock), name=f"rescore-{job.id}")
    return RedirectResponse(f"/admin/programme/rescore?{urlencode({'site': site.key})}", status_code=303)
