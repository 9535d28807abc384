"""The sites this server tracks, each with its compiled programme, kept in memory.

Programmes are compiled once per version, not per request.  Every instance polls the
store's version numbers so a programme loaded through the CLI or another instance
takes effect everywhere within ``RELOAD_SECONDS``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from tracker.domain.privacy import PrivacySettings
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.load import Programme, load_programme
from tracker.domain.sites import HOME_SETTING, INTERNAL_SETTING, Site, home_of, internal_networks, normalise_origin
from tracker.services.programmes import CLI, record_version
from tracker.store import Queries, Store
from tracker.store.rows import SiteRecord

RELOAD_SECONDS = 5.0
log = logging.getLogger("tracker.sites")


class SiteRegistry:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._by_key: dict[str, Site] = {}
        self._by_id: dict[int, Site] = {}

    def get(self, key: str) -> Site | None:
        return self._by_key.get(key)

    def by_id(self, site_id: int) -> Site | None:
        return self._by_id.get(site_id)

    def count(self) -> int:
        return len(self._by_id)

    def all(self) -> list[Site]:
        """The loaded sites, by key."""
        return sorted(self._by_id.values(), key=lambda site: site.key)

    def any_allows(self, origin: str) -> bool:
        return any(site.allows_origin(origin) for site in self._by_id.values())

    async def load(self) -> None:
        records = await self.store.read(lambda q: q.sites())
        for record in records:
            self._install(record)

    async def refresh(self) -> None:
        """Recompile the sites whose version changed in the store."""
        versions = await self.store.read(lambda q: q.site_versions())
        stale = [
            sid for sid, version in versions.items() if (s := self._by_id.get(sid)) is None or s.version != version
        ]
        if not stale:
            return

        async def fetch(q: Queries) -> list[SiteRecord]:
            return [r for r in await q.sites() if r.id in stale]

        for record in await self.store.read(fetch):
            self._install(record)

    def _install(self, record: SiteRecord) -> None:
        try:
            site = compile_site(record)
        except ProgrammeError as exc:
            # The store only ever holds programmes that compiled when saved; a newer
            # release may be stricter.  Keep serving the last good version.
            log.error("site %s: programme version %s rejected: %s", record.key, record.version, exc)
            return
        self._by_key[site.key] = site
        self._by_id[site.id] = site


async def save_site(
    store: Store, key: str, *, name: str | None, origins: list[str] | None, programme: str | None, now: float
) -> SiteRecord:
    """Create the site ``key`` or update what is given; the programme must compile first."""
    if programme is not None:
        load_programme(programme)

    async def unit(q: Queries) -> SiteRecord:
        existing = await q.site_by_key(key)
        if existing is None:
            site_id = await q.insert_site(key, name or key, origins or [], programme or "", now)
            if programme:
                await q.insert_programme_version(site_id, 1, programme, author=CLI, comment="", origin=CLI, now=now)
        else:
            changed_origins = origins if origins is not None and origins != existing.origins else None
            await q.update_site(existing.id, origins=changed_origins)
            if programme is not None and programme != existing.programme:
                # Scripts are the last writer: no base version to check, but a version like any other.
                await q.lock_site(existing.id)
                await record_version(q, existing.id, programme, author=CLI, comment="", origin=CLI, now=now)
        saved = await q.site_by_key(key)
        assert saved is not None
        return saved

    return await store.write(unit)


async def seed_site(store: Store, key: str, *, name: str, programme: str, now: float) -> SiteRecord:
    """The site ``key`` as it is, or created with ``programme`` if missing (the demo's start).

    Once a site exists its programme belongs to the people who edit it in the console: a restart
    must not publish the shipped file over their versions.
    """
    existing = await store.read(lambda q: q.site_by_key(key))
    if existing is not None:
        return existing
    return await save_site(store, key, name=name, origins=None, programme=programme, now=now)


def compile_site(record: SiteRecord) -> Site:
    return Site(
        id=record.id,
        key=record.key,
        name=record.name,
        origins=frozenset(normalise_origin(o) for o in record.origins),
        programme=load_programme(record.programme),
        version=record.version,
        privacy=PrivacySettings.from_json(record.settings),
        internal=internal_networks(record.settings.get(INTERNAL_SETTING, [])),
        home=home_of(record.settings.get(HOME_SETTING), record.origins),
    )


def load_programme_file(path: Path) -> Programme:
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProgrammeError(str(path), f"cannot read file: {exc.strerror}") from None
    return load_programme(source)
