"""/admin/webhooks (admin): a site's subscriptions, add one (its signing secret is in the answer,
once), remove one, and the latest deliveries with a resend button — the services and queries
``/api/webhooks`` uses."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.sites import Site
from tracker.errors import HTTPError
from tracker.services.outbox import EVENTS
from tracker.services.webhooks import add_webhook, redeliver, remove_webhook, webhooks_of
from tracker.web.admin.i18n import gettext
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.render import reader
from tracker.web.admin.session import Visit, requires
from tracker.web.auth import console_site
from tracker.web.params import int_param

RECENT = 25
# Each event is its own checkbox ("event.person.routed"): a form field name is sent once.
EVENT_FIELD = "event."


async def _listing(request: Request, visit: Visit, site: Site, status: int = 200, **context: Any) -> Response:
    runtime = runtime_of(request)
    hooks = await webhooks_of(runtime.store, site.id)
    deliveries = await runtime.store.read(lambda q: q.deliveries(site.id, None, None, RECENT))
    new = context.pop("new", {"url": "", "events": list(EVENTS)})
    errors = context.pop("errors", {})
    return show_page(
        request,
        visit,
        "webhooks.html",
        status,
        site=site,
        hooks=hooks,
        deliveries=deliveries,
        events=EVENTS,
        new=new,
        errors=errors,
        **context,
    )


def _actor(visit: Visit) -> str:
    return f"user:{visit.session.user.id}"


def _site(request: Request, key: str | None) -> Site:
    return console_site(runtime_of(request), key or None)


def _no_site(request: Request, visit: Visit, exc: HTTPError) -> Response:
    title = gettext(reader(request, visit)[0], "Webhooks")
    return show_page(request, visit, "error.html", exc.status, title=title, message=exc.message)


@requires("webhooks.manage")
async def webhooks_page(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    try:
        site = _site(request, request.query_params.get("site"))
    except HTTPError as exc:
        return _no_site(request, visit, exc)
    return await _listing(request, visit, site)


@requires("webhooks.manage")
async def add(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    try:
        site = _site(request, form.get("site"))
    except HTTPError as exc:
        return _no_site(request, visit, exc)
    url = form.get("url", "").strip()
    wanted = [event for event in EVENTS if form.get(EVENT_FIELD + event)]
    try:
        created = await add_webhook(runtime.store, site.id, url, wanted, runtime.clock(), actor=_actor(visit))
    except HTTPError as exc:
        new = {"url": url, "events": wanted}
        return await _listing(request, visit, site, 400, new=new, errors={exc.field or "url": exc.message})
    return await _listing(request, visit, site, created=created)


@requires("webhooks.manage")
async def remove(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    try:
        site = _site(request, form.get("site"))
        webhook_id = int_param(form.get("id"), "id")
    except HTTPError as exc:
        return _no_site(request, visit, exc)
    if not await remove_webhook(runtime.store, site.id, webhook_id, actor=_actor(visit), now=runtime.clock()):
        return await _listing(request, visit, site, 404, failed=f"no webhook {webhook_id} (removed already?)")
    return RedirectResponse(f"/admin/webhooks?site={site.key}", status_code=303)


@requires("webhooks.manage")
async def resend(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    try:
        site = _site(request, form.get("site"))
        delivery_id = int_param(form.get("id"), "id")
    except HTTPError as exc:
        return _no_site(request, visit, exc)
    if not await redeliver(runtime.store, site.id, delivery_id, actor=_actor(visit), now=runtime.clock()):
        return await _listing(request, visit, site, 404, failed=f"no delivery {delivery_id}")
    request.app.state.deliverer.wake()
    return RedirectResponse(f"/admin/webhooks?site={site.key}", status_code=303)
