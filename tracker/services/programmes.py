"""Programme versions: publishing a site's programme from the console or the CLI, and its history.

Every published programme is a numbered version of its site (who, when, comment, origin, the
TOML).  ``publish`` compiles the source first (a failed publish changes nothing), refuses a
publish based on a version that is no longer the latest one, naming who published since
(nothing is overwritten silently), and refuses a change of MQL/SQL thresholds unless both
sides agreed to it (seed 004).  Publishes of one site run one after the other under the
site's row lock, and the unique (site, number) index makes a lost race impossible to miss.
Publishing bumps ``sites.version``: every running server recompiles the site
(``SiteRegistry.refresh``).  Each publish is audited with the version before and after and
the summary of what changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.domain.clock import iso
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.diff import summary
from tracker.domain.programme.load import Programme, load_programme
from tracker.domain.programme.thresholds import threshold_changes
from tracker.errors import HTTPError, NotFound
from tracker.store import Queries, SiteRecord, Store
from tracker.store.programme_queries import DraftRecord, VersionRecord

# How a version came to be (programme_versions.origin; 0009's own rows say "migration").
PUBLISH, ROLLBACK, CLONE, CLI = "publish", "rollback", "clone", "cli"
HISTORY_LIMIT = 500


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
    origin: str = PUBLISH,
) -> Published:
    """Make ``source`` the active programme of ``site_key`` if ``base_version`` is still its latest version."""
    programme = load_programme(source)

    async def unit(q: Queries) -> Published:
        site = await _locked_site(q, site_key)
        latest = await q.latest_programme_version(site.id)
        current = latest.number if latest is not None else 0
        if base_version != current:
            newer = [v for v in await q.programme_versions(site.id, HISTORY_LIMIT) if v.number > base_version]
            raise StalePublish(
                f"version {base_version} is no longer the latest: "
                + "; ".join(f"version {v.number} was published by {v.author} at {iso(v.created_at)}" for v in newer),
                field="base_version",
                published=[{"version": v.number, "author": v.author, "at": v.created_at} for v in newer],
            )
        before = _compiled(site.programme)
        changed = threshold_changes(before, programme) if before is not None else []
        if changed and agreement is None:
            raise ThresholdsNeedAgreement(
                "thresholds are agreed by marketing and sales together: propose the change instead",
                field="thresholds",
                changes=changed,
            )
        number = await record_version(q, site.id, source, author=author, comment=comment, origin=origin, now=now)
        detail = {
            "before": current,
            "after": number,
            "comment": comment,
            "origin": origin,
            "changes": summary(before, programme) if before is not None else ["first version"],
            "thresholds": changed,
        }
        if agreement is not None:
            detail["agreement"] = {"marketing": agreement.marketing, "sales": agreement.sales}
        # The audit log names console users as everywhere else (user:<id>); scripts by what they said.
        user = await q.user_by_email(author)
        actor = f"user:{user.id}" if user is not None else author
        await q.insert_audit(site.id, now, actor, "programme_publish", None, {"author": author, **detail})
        return Published(site_key, number, changed)

    return await store.write(unit)


async def record_version(
    q: Queries, site_id: int, source: str, *, author: str, comment: str, origin: str, now: float
) -> int:
    """Make ``source`` the site's active programme as its next version (the caller holds the site's lock)."""
    latest = await q.latest_programme_version(site_id)
    number = (latest.number if latest is not None else 0) + 1
    await q.insert_programme_version(site_id, number, source, author=author, comment=comment, origin=origin, now=now)
    await q.update_site(site_id, programme=source)
    return number


@dataclass(frozen=True, slots=True)
class History:
    site: SiteRecord
    versions: list[VersionRecord]  # newest first

    @property
    def current(self) -> int:
        """The number of the active version (0: the site never had a programme)."""
        return self.versions[0].number if self.versions else 0


async def current_version(store: Store, site_id: int) -> int:
    """The number of the site's active programme version (0: none yet): what an edit is based on.

    Not ``Site.version``, which counts every change of the site's row (origins, name, settings).
    """
    latest = await store.read(lambda q: q.latest_programme_version(site_id))
    return latest.number if latest is not None else 0


async def history(store: Store, site_key: str) -> History:
    async def unit(q: Queries) -> History:
        site = await q.site_by_key(site_key)
        if site is None:
            raise NotFound(f"no site {site_key!r}", field="site")
        return History(site, await q.programme_versions(site.id, HISTORY_LIMIT))

    return await store.read(unit)


async def version_source(store: Store, site_key: str, number: int) -> tuple[VersionRecord, str]:
    """A version and its TOML (404 if the site or the version does not exist)."""

    async def unit(q: Queries) -> tuple[VersionRecord, str]:
        site = await q.site_by_key(site_key)
        version = await q.programme_version(site.id, number) if site is not None else None
        source = await q.programme_source(site.id, number) if site is not None else None
        if version is None or source is None:
            raise NotFound(f"site {site_key!r} has no programme version {number}", field="version")
        return version, source

    return await store.read(unit)


async def rollback(
    store: Store,
    site_key: str,
    number: int,
    *,
    base_version: int,
    author: str,
    comment: str,
    now: float,
    agreement: Agreement | None = None,
) -> Published:
    """Publish version ``number``'s TOML again, as a new version."""
    _, source = await version_source(store, site_key, number)
    return await publish(
        store,
        site_key,
        source,
        base_version=base_version,
        author=author,
        comment=comment,
        now=now,
        agreement=agreement,
        origin=ROLLBACK,
    )


async def clone(
    store: Store, from_site: str, number: int, to_site: str, *, author: str, comment: str, now: float
) -> Published:
    """Publish version ``number`` of ``from_site`` on ``to_site``, over that site's latest version."""
    _, source = await version_source(store, from_site, number)
    target = await history(store, to_site)
    return await publish(
        store, to_site, source, base_version=target.current, author=author, comment=comment, now=now, origin=CLONE
    )


# -- drafts: one unpublished edit per console user and site --------------------------------------


async def draft(store: Store, user_id: int, site_id: int) -> DraftRecord | None:
    return await store.read(lambda q: q.programme_draft(user_id, site_id))


async def save_draft(store: Store, user_id: int, site_id: int, source: str, base_version: int, now: float) -> None:
    """Keep the user's edit (it must compile: a draft is always one publish away)."""
    load_programme(source)
    await store.write(lambda q: q.save_programme_draft(user_id, site_id, source, base_version, now))


async def discard_draft(store: Store, user_id: int, site_id: int) -> None:
    await store.write(lambda q: q.delete_programme_draft(user_id, site_id))


async def _locked_site(q: Queries, site_key: str) -> SiteRecord:
    site = await q.site_by_key(site_key)
    if site is None:
        raise NotFound(f"no site {site_key!r}", field="site")
    await q.lock_site(site.id)
    # Read again under the lock: a publish that committed while this one waited is seen.
    locked = await q.site_by_key(site_key)
    assert locked is not None
    return locked


def _compiled(source: str) -> Programme | None:
    """The active programme, or None when there is none (or a stricter release refuses it)."""
    try:
        return load_programme(source) if source else None
    except ProgrammeError:
        return None
