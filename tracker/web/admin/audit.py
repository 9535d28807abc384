"""/admin/audit (admin): every change — who (by e-mail), when, what, before and after — newest
first, filtered by site, actor and action, one keyset page at a time (``services.audit``)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from tracker.errors import HTTPError
from tracker.services.audit import audit_page
from tracker.store.audit_queries import INSTALL, AuditFilter
from tracker.web.admin.i18n import gettext
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.render import reader
from tracker.web.admin.session import Visit, requires
from tracker.web.params import int_param

PAGE_SIZE = 50


@requires("audit.read")
async def audit(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    params = request.query_params
    site_key = params.get("site", "")
    site_id: int | None = None
    if site_key == "install":
        site_id = INSTALL
    elif site_key:
        site = runtime.sites.get(site_key)
        site_id = site.id if site is not None else -1  # an unknown site: no entry
    try:
        before = int_param(params.get("before"), "before", default=0) or None
    except HTTPError as exc:
        title = gettext(reader(request, visit)[0], "Audit log")
        return show_page(request, visit, "error.html", exc.status, title=title, message=exc.message)
    wanted = AuditFilter(site_id, params.get("actor") or None, params.get("action") or None, before)
    page = await audit_page(runtime.store, wanted, PAGE_SIZE)
    kept = {name: params[name] for name in ("site", "actor", "action") if params.get(name)}
    following = f"/admin/audit?{urlencode({**kept, 'before': page.next_before})}" if page.next_before else None
    return show_page(
        request,
        visit,
        "audit.html",
        page=page,
        params=params,
        site_keys={site.id: site.key for site in runtime.sites.all()},
        next_url=following,
    )
