"""The console's what-if: "What would this change?" for the user's programme draft.

The draft is replayed over the site's recent history by a run in the background
(``services.what_if_runs``): the page waits a moment for it, then shows its result, or its
progress polled by htmx (reloaded without JS) on a large site.  Nothing is published or written
but the run itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.calibration.bands import band_of_json
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.load import Programme, load_programme
from tracker.errors import BadRequest, HTTPError
from tracker.services import what_if_runs
from tracker.services.what_if import MAX_DAYS, named
from tracker.services.what_if_ask import ask
from tracker.store.what_if_queries import WhatIfRun
from tracker.web.admin.calibration import band_label
from tracker.web.admin.calibration_words import percent
from tracker.web.admin.charts import share
from tracker.web.admin.i18n import gettext
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.programme_edit import Working, working
from tracker.web.admin.programme_pages import no_programme
from tracker.web.admin.render import reader, render
from tracker.web.admin.rescore import summary_view
from tracker.web.admin.session import Visit, requires
from tracker.web.params import int_param

DEFAULT_DAYS = 90
DAY_CHOICES = (7, 30, 90, 180, 365)


def _days(raw: str) -> int | None:
    """The number of days asked for; None when ``raw`` is no whole number from 1 to ``MAX_DAYS``."""
    try:
        return int_param(raw.strip(), "days", minimum=1, maximum=MAX_DAYS)
    except BadRequest:
        return None


def _address(site_key: str, days: int) -> str:
    return f"/admin/programme/what-if?{urlencode({'site': site_key, 'days': days})}"


@requires("programme.edit")
async def what_if_page(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """The user's draft replayed over the people seen in the last N days, beside what they have now."""
    language, _ = reader(request, visit)
    try:
        work = await working(request, visit, request.query_params.get("site"))
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    raw = request.query_params.get("days", "").strip()
    asked = _days(raw)
    days = asked or DEFAULT_DAYS
    error = None if not raw or asked else gettext(language, "Choose a number of days from 1 to 3650.")
    context: dict[str, Any] = {
        "site": work.history.site,
        "work": work,
        "days": days,
        "choices": DAY_CHOICES,
        "error": error,
        "share": share,
        "run": None,
        "running": False,
    }
    if work.saved_at is None:
        return show_page(request, visit, "what_if.html", **context)
    try:
        draft = load_programme(work.source)
    except ProgrammeError as exc:  # a release stricter than the one that saved the draft
        return show_page(request, visit, "what_if.html", **{**context, "error": f"{exc.where}: {exc.message}"})
    run = await _start(request, visit, work, draft, days, again=False)
    return show_page(request, visit, "what_if.html", **{**context, **await _run_view(request, run, language)})


@requires("programme.edit")
async def replay_again(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """Replay the draft anew (people kept coming since the result shown), then show the page."""
    try:
        work = await working(request, visit, form.get("site"))
        draft = load_programme(work.source)
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    except ProgrammeError:  # the page says what is wrong with the draft
        return RedirectResponse(_address(work.history.site.key, DEFAULT_DAYS), status_code=303)
    days = _days(form.get("days", "")) or DEFAULT_DAYS
    if work.saved_at is not None:
        await _start(request, visit, work, draft, days, again=True)
    return RedirectResponse(_address(work.history.site.key, days), status_code=303)


@requires("programme.edit")
async def what_if_progress(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """Only the progress block, for htmx to swap in every second; the whole page reloads once the run ends.

    The run is found as the page finds it (the user's draft over these days), so the page reloads too
    when there is none any more: the draft changed meanwhile, or the run went silent.
    """
    runtime = runtime_of(request)
    try:
        work = await working(request, visit, request.query_params.get("site"))
    except HTTPError as exc:
        return no_programme(request, visit, exc)
    days = _days(request.query_params.get("days", "")) or DEFAULT_DAYS
    site, now = work.history.site, runtime.clock()
    run = None
    if work.saved_at is not None:
        run = await what_if_runs.current(runtime.store, site.id, work.source, days, now)
    # Only the progress: an ended run's result is the reloaded page's to read and show.
    running = run is not None and what_if_runs.is_running(run, now)
    context = {"visit": visit, "site": site, "days": days, "run": run, "running": running}
    response = render(request, "what_if_progress.html", context)
    if not running:
        response.headers["HX-Refresh"] = "true"
    return response


async def _start(
    request: Request, visit: Visit, work: Working, draft: Programme, days: int, *, again: bool
) -> WhatIfRun:
    """The run answering the user's draft (a new one ``again``), given ``WAIT`` seconds if new: a small
    site's is over by then."""
    runtime, background = runtime_of(request), request.app.state.background
    author = visit.session.user.email
    site = work.history.site
    wait = what_if_runs.WAIT
    return await ask(runtime, background, site.id, site.key, draft, days, author=author, again=again, wait=wait)


async def _run_view(request: Request, run: WhatIfRun, language: str) -> dict[str, Any]:
    """What the page shows of ``run``: its progress while it runs, its result once done."""
    running = what_if_runs.is_running(run, runtime_of(request).clock())
    view: dict[str, Any] = {"run": run, "running": running, "view": None, "conversion": None, "conversion_rows": []}
    if run.status != what_if_runs.DONE or run.result is None:
        return view
    store = runtime_of(request).store
    summary = await named(store, run.result)
    conversion = run.result.get("conversion")
    rows = (
        []
        if conversion is None
        else [
            (band_of_json(now), band_of_json(after))
            for now, after in zip(conversion["before"], conversion["after"], strict=True)
        ]
    )
    return {
        **view,
        "view": summary_view(summary),
        "conversion": conversion,
        "conversion_rows": rows,
        "band_label": lambda band: band_label(band, language),
        "percent": lambda value: percent(value, language),
    }
