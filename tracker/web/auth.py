"""Who is calling: ``Authorization: Bearer <API key>``, checked against the key's role.

Roles grant what they name; admin grants everything (``domain.keys`` for the key format).
"""

from __future__ import annotations

from starlette.requests import Request

from tracker.domain.keys import ROLES, digest
from tracker.domain.sites import Site
from tracker.errors import Forbidden, NotFound, Unauthorized
from tracker.services.runtime import Runtime
from tracker.store.rows import ApiKeyRecord

# Which roles may do what; admin may do everything.
_GRANTS = {"sales": {"sales"}, "marketing": {"marketing"}, "ingest": {"ingest"}, "admin": set(ROLES)}


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
    if role not in _GRANTS.get(record.role, set()):
        raise Forbidden(f"a {record.role} key cannot do this; it needs the {role} role", field="authorization")
    return record


def site_of(runtime: Runtime, site_id: int) -> Site:
    site = runtime.sites.by_id(site_id)
    if site is None:
        raise NotFound("this key's site is not loaded", field="authorization")
    return site
