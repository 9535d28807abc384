"""API keys of a site: create (the key is shown once; only its digest is kept), list, revoke.

The CLI (``tracker keys``) and the console (/admin/keys) both come here, so every creation
and revocation lands in the site's audit log whoever made it.
"""

from __future__ import annotations

from tracker.domain.keys import digest, new_key
from tracker.domain.roles import KEY_ROLES
from tracker.errors import BadRequest, NotFound
from tracker.store import ApiKeyRecord, Queries, Store

MAX_NAME = 200


def check_key(role: str, name: str) -> tuple[str, str]:
    if role not in KEY_ROLES:
        raise BadRequest(f"role must be one of {', '.join(KEY_ROLES)}", field="role")
    name = name.strip()
    if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise BadRequest(f"a name has at most {MAX_NAME} characters, on one line", field="name")
    return role, name


async def create_key(
    store: Store, site_key: str, role: str, name: str, *, actor: str, now: float
) -> tuple[ApiKeyRecord, str]:
    """A new key of ``role`` for the site: its record and the key itself, which is never stored."""
    role, name = check_key(role, name)
    key = new_key()

    async def unit(q: Queries) -> ApiKeyRecord:
        site = await q.site_by_key(site_key)
        if site is None:
            raise NotFound(f"no site {site_key!r}", field="site")
        key_id = await q.insert_api_key(site.id, role, name, digest(key), now)
        await q.insert_audit(site.id, now, actor, "key_create", None, {"key": key_id, "role": role, "name": name})
        record = await q.api_key_by_id(key_id)
        assert record is not None
        return record

    return await store.write(unit), key


async def keys_of(store: Store, site_id: int | None) -> list[ApiKeyRecord]:
    """A site's keys (every site's when None), never the keys themselves."""
    return await store.read(lambda q: q.api_keys(site_id))


async def revoke_key(store: Store, key_id: int, *, actor: str, now: float) -> ApiKeyRecord:
    """Delete a key: the next request with it answers 401.  NotFound if it is gone already."""

    async def unit(q: Queries) -> ApiKeyRecord:
        record = await q.api_key_by_id(key_id)
        if record is None or not await q.delete_api_key(key_id):
            raise NotFound(f"no API key {key_id} (revoked already?)", field="key")
        detail = {"key": key_id, "role": record.role, "name": record.name}
        await q.insert_audit(record.site_id, now, actor, "key_revoke", None, detail)
        return record

    return await store.write(unit)
