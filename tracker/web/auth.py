"""Who is calling: ``Authorization: Bearer <API key>``, checked against the key's role, or
(for the routes the console shares with the API, such as exports) a console session.

A key's role grants what ``domain.roles.KEY_GRANTS`` says (admin: everything; ``domain.keys``
for the key format).  Console roles follow the matrix of the same module.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from tracker.domain.keys import digest
from tracker.domain.roles import key_may, may
from tracker.domain.sites import Site
from tracker.errors import Forbidden, NotFound, Unauthorized
from tracker.services.runtime import Runtime
from tracker.store.rows import ApiKeyRecord
from tracker.web.admin.session import COOKIE, current

# A key's "last used" is written at most this often: an API client must not cost a write per call.
TOUCH_KEY_EVERY = 60.0


async def authenticate(request: Request, role: str) -> ApiKeyRecord:
    """The key presented as ``Authorization: Bearer <key>``, if it may act as ``role``."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("an API key is required: Authorization: Bearer <key>", field="authorization")
    runtime: Runtime = request.app.state.runtime
    hashed = digest(key.strip())
    record = await runtime.store.read(lambda q: q.api_key(hashed))
    if record is None:
        raise Unauthorized("unknown API key", field="authorization")
    if not key_may(record.role, role):
        raise Forbidden(f"a {record.role} key cannot do this; it needs the {role} role", field="authorization")
    now = runtime.clock()
    if record.last_used_at is None or now - record.last_used_at >= TOUCH_KEY_EVERY:
        await runtime.store.write(lambda q: q.touch_api_key(record.id, now))
    return record


def site_of(runtime: Runtime, site_id: int) -> Site:
    site = runtime.sites.by_id(site_id)
    if site is None:
        raise NotFound("this key's site is not loaded", field="authorization")
    return site


@dataclass(frozen=True, slots=True)
class Caller:
    site: Site
    actor: str  # for the audit log: "key:<id>" or "user:<id>"


async def caller(request: Request, role: str, permission: str) -> Caller:
    """An API key that may act as ``role``, else a console session whose role holds ``permission``.

    A request with an Authorization header, or without a session cookie, is an API call and
    answers 401/403 as the API does.  A session names its site with ``?site=KEY``.
    """
    runtime: Runtime = request.app.state.runtime
    if request.headers.get("authorization") or COOKIE not in request.cookies:
        key = await authenticate(request, role)
        return Caller(site_of(runtime, key.site_id), f"key:{key.id}")
    visit = await current(request)
    if visit is None:
        raise Unauthorized("sign in to the console, or send an API key", field="authorization")
    if not may(visit.role, permission):
        raise Forbidden(f"the {visit.role} role cannot do this", field="authorization")
    return Caller(console_site(runtime, request.query_params.get("site")), f"user:{visit.session.user.id}")


def console_site(runtime: Runtime, key: str | None) -> Site:
    """The site a console page shows: ``key``, or the first site by key when none is named."""
    if key:
        site = runtime.sites.get(key)
        if site is None:
            raise NotFound(f"no site {key!r}", field="site")
        return site
    sites = runtime.sites.all()
    if not sites:
        raise NotFound("no site is loaded yet: add one with `tracker sites add`", field="site")
    return sites[0]
