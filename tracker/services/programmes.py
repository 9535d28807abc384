"""Publishing a site's programme from the console or the CLI.

INTERFACE STUB (replaced by the programme-versions work): ``publish`` is what the console's
editors call to make an edited programme active.  It compiles the source first (a failed
publish changes nothing), refuses a publish based on a version that is no longer the active
one, and refuses a change of MQL/SQL thresholds unless both sides agreed to it (seed 004).
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.domain.programme.load import load_programme
from tracker.domain.programme.thresholds import threshold_changes
from tracker.errors import HTTPError, NotFound
from tracker.store import Queries, Store


class StalePublish(HTTPError):
    status = 409
    code = "stale_version"


class ThresholdsNeedAgreement(HTTPError):
    """The source changes an MQL/SQL threshold: that goes through a proposal both sides approve."""

    status = 409
    code = "thresholds_need_agreement"


@dataclass(frozen=True, slots=True)
class Agreement:
    """Who agreed to a threshold change on each side."""

    marketing: str
    sales: str


@dataclass(frozen=True, slots=True)
class Published:
    site_key: str
    version: int
    thresholds: list[str]  # the threshold changes it made (only ever with an Agreement)


async def publish(
    store: Store,
    site_key: str,
    source: str,
    *,
    base_version: int,
    author: str,
    comment: str,
    now: float,
    agreement: Agreement | None = None,
) -> Published:
    """Make ``source`` the active programme of ``site_key`` if ``base_version`` is still the active one."""
    programme = load_programme(source)

    async def unit(q: Queries) -> Published:
        site = await q.site_by_key(site_key)
        if site is None:
            raise NotFound(f"no site {site_key!r}", field="site")
        if site.version != base_version:
            raise StalePublish(f"version {base_version} is no longer the active one", field="base_version")
        changed = threshold_changes(load_programme(site.programme), programme) if site.programme else []
        if changed and agreement is None:
            raise ThresholdsNeedAgreement(
                "thresholds are agreed by marketing and sales together: propose the change instead",
                field="thresholds",
                changes=changed,
            )
        await q.update_site(site.id, programme=source)
        await q.insert_audit(site.id, now, author, "programme_publish", None, {"comment": comment})
        return Published(site_key, site.version + 1, changed)

    return await store.write(unit)
