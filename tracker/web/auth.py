"""API keys: random bearer tokens, stored only as SHA-256 digests.

A key is 256 bits of randomness, so a fast digest is enough: there is nothing to
brute-force, unlike a password.  Each key belongs to one site and one role.
"""

from __future__ import annotations

from starlette.requests import Request

from tracker.domain.keys import ROLES, digest
from tracker.errors import Forbidden, Unauthorized
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
