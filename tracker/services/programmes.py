"""Publishing a site's programme from the console or the CLI.

INTERFACE STUB (replaced by the programme-versions work): ``publish`` is what the console's
editors call to make an edited programme active.  It compiles the source first (a failed
publish changes nothing) and refuses a publish based on a version that is no longer the
active one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker.domain.programme.load import load_programme
from tracker.errors import HTTPError, NotFound
from tracker.store import Queries, Store


class StalePublish(HTTPError):
    status = 409
    code = "stale_version"


@dataclass(frozen=True, slots=True)
class Published:
    site_key: str
    version: int
    # Threshold changes held back as proposals awaiting both sides' approval (seed 004).
    pending: list[str] = field(default_factory=list)


async def publish(
    store: Store, site_key: str, source: str, *, base_version: int, author: str, comment: str, now: float
) -> Published:
    """Make ``source`` the active programme of ``site_key`` if ``base_version`` is still the active one."""
    load_programme(source)

    async def unit(q: Queries) -> Published:
        site = await q.site_by_key(site_key)
        if site is None:
            raise NotFound(f"no site {site_key!r}", field="site")
        if site.version != base_version:
            raise StalePublish(f"version {base_version} is no longer the active one", field="base_version")
        await q.update_site(site.id, programme=source)
        await q.insert_audit(site.id, now, author, "programme_publish", None, {"comment": comment})
        return Published(site_key, site.version + 1)

    return await store.write(unit)
