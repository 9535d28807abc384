"""/admin/keys (admin): every site's API keys (name, role, created, last used), create one — the
key is in the answer to that POST, once, and never stored —, revoke one (after a confirm)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.roles import KEY_ROLES
from tracker.errors import HTTPError
from tracker.services.api_keys import create_key, keys_of, revoke_key
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.session import Visit, requires
from tracker.web.params import int_param

KEYS = "/admin/keys"


async def _listing(request: Request, visit: Visit, status: int = 200, **context: Any) -> Response:
    runtime = runtime_of(request)
    keys = await keys_of(runtime.store, None)
    by_site = {site.id: [key for key in keys if key.site_id == site.id] for site in runtime.sites.all()}
    new = context.pop("new", {"site": request.query_params.get("site", ""), "role": "sales", "name": ""})
    errors = context.pop("errors", {})
    return show_page(
        request, visit, "keys.html", status, by_site=by_site, roles=KEY_ROLES, new=new, errors=errors, **context
    )


@requires("keys.manage")
async def keys_page(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    return await _listing(request, visit)


@requires("keys.manage")
async def create(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    new = {name: form.get(name, "") for name in ("site", "role", "name")}
    runtime = runtime_of(request)
    actor = f"user:{visit.session.user.id}"
    try:
        record, key = await create_key(
            runtime.store, new["site"], new["role"], new["name"], actor=actor, now=runtime.clock()
        )
    except HTTPError as exc:
        return await _listing(request, visit, 400, new=new, errors={exc.field or "name": exc.message})
    return await _listing(request, visit, created={"record": record, "key": key, "site": new["site"]})


@requires("keys.manage")
async def revoke(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    try:
        key_id = int_param(form.get("id"), "key")
        await revoke_key(runtime.store, key_id, actor=f"user:{visit.session.user.id}", now=runtime.clock())
    except HTTPError as exc:
        return await _listing(request, visit, exc.status, failed=exc.message)
    return RedirectResponse(KEYS, status_code=303)
