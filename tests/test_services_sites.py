"""The sites in memory and their programmes (services/sites.py): saved, compiled once per version, reloaded.

Each test builds its own ``SiteRegistry`` on the server's store: it stands for another instance,
whose registry only learns of a change when it polls (``refresh``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tracker.domain.programme.checks import ProgrammeError
from tracker.services.sites import SiteRegistry, compile_site, load_programme_file, save_site, seed_site
from tracker.store import Queries
from tracker.store.rows import SiteRecord

from .conftest import Server

FIRST = "[scores.engagement]\nsql = 12\n"
SECOND = "[scores.engagement]\nsql = 20\n"
# Refused by this release: a threshold must be a number.
BROKEN = '[scores.engagement]\nsql = "high"\n'
ACME = "https://www.acme.fr"


async def instance(server: Server) -> SiteRegistry:
    registry = SiteRegistry(server.runtime.store)
    await registry.load()
    return registry


async def save(server: Server, programme: str | None = None, origins: list[str] | None = None) -> SiteRecord:
    return await save_site(
        server.runtime.store, "acme", name=None, origins=origins, programme=programme, now=server.clock()
    )


async def stored(server: Server, key: str = "acme") -> SiteRecord | None:
    return await server.runtime.store.read(lambda q: q.site_by_key(key))


async def test_refresh_picks_up_a_programme_saved_by_another_instance(server: Server) -> None:
    await save(server, FIRST, [ACME])
    registry = await instance(server)
    before = registry.get("acme")
    assert before is not None and before.programme.thresholds() == {"engagement": (None, 12.0)}

    await save(server, SECOND)
    assert registry.get("acme") is before  # nothing changes until the poll
    await registry.refresh()

    after = registry.get("acme")
    assert after is not None and registry.by_id(after.id) is after
    assert (after.id, after.version) == (before.id, before.version + 1)
    assert after.programme.thresholds() == {"engagement": (None, 20.0)}
    assert after.origins == frozenset({ACME})  # what was not given is kept


async def test_refresh_recompiles_only_the_sites_whose_version_changed(server: Server) -> None:
    await save(server, FIRST)
    registry = await instance(server)
    demo, acme = registry.get("demo"), registry.get("acme")
    await registry.refresh()
    assert registry.get("demo") is demo and registry.get("acme") is acme  # no change: nothing compiled

    await save(server, SECOND)
    await registry.refresh()
    assert registry.get("demo") is demo
    assert registry.get("acme") is not acme


async def test_refresh_picks_up_a_site_created_after_loading(server: Server) -> None:
    registry = await instance(server)
    assert (registry.count(), registry.get("acme"), registry.any_allows(ACME)) == (1, None, False)

    await save(server, FIRST, [ACME + "/"])
    await registry.refresh()

    acme = registry.get("acme")
    assert acme is not None and acme.name == "acme"  # the key names a site created without a name
    assert registry.count() == 2
    assert registry.any_allows(ACME)
    assert not registry.any_allows("https://evil.example")


async def test_a_stored_programme_this_release_refuses_keeps_the_last_good_version(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    record = await save(server, FIRST)
    registry = await instance(server)
    good = registry.get("acme")

    # save_site would refuse it; a store written by an older, laxer release may still hold it.
    async def older_release(q: Queries) -> None:
        await q.update_site(record.id, programme=BROKEN)

    await server.runtime.store.write(older_release)
    with caplog.at_level(logging.ERROR, logger="tracker.sites"):
        await registry.refresh()

    assert registry.get("acme") is good
    assert f"site acme: programme version {record.version + 1} rejected: scores.engagement.sql:" in caplog.text
    # An instance starting now serves the other sites and leaves this one out.
    fresh = await instance(server)
    assert fresh.get("acme") is None and fresh.get("demo") is not None


async def test_save_site_refuses_a_programme_that_does_not_compile_and_stores_nothing(server: Server) -> None:
    with pytest.raises(ProgrammeError) as caught:
        await save(server, BROKEN)
    assert caught.value.where == "scores.engagement.sql"
    assert await stored(server) is None

    record = await save(server, FIRST)
    with pytest.raises(ProgrammeError):
        await save(server, BROKEN, ["https://elsewhere.example"])
    assert await stored(server) == record


async def test_save_site_bumps_the_version_only_for_a_change(server: Server) -> None:
    created = await save(server, FIRST)
    assert (created.name, created.origins, created.programme) == ("acme", [], FIRST)
    # The same programme and the same origins again: no new version for every instance to recompile.
    assert (await save(server, FIRST, [])).version == created.version
    moved = await save(server, origins=[ACME])
    assert (moved.version, moved.origins, moved.programme) == (created.version + 1, [ACME], FIRST)
    changed = await save(server, SECOND, [ACME])
    assert (changed.version, changed.origins, changed.programme) == (created.version + 2, [ACME], SECOND)


# ---- compiling a stored site, loading a programme file ---------------------------------------


def site_record(**settings: object) -> SiteRecord:
    return SiteRecord(
        id=7,
        key="acme",
        name="Acme",
        origins=["HTTPS://WWW.ACME.FR/", "http://localhost:8080"],
        programme=FIRST,
        version=3,
        settings=dict(settings),
    )


def test_compile_site_normalises_origins_and_reads_the_settings() -> None:
    site = compile_site(site_record(internal_ips=["10.1.0.0/16"], consent="required"))
    assert (site.id, site.key, site.name, site.version) == (7, "acme", "Acme", 3)
    assert site.origins == frozenset({ACME, "http://localhost:8080"})
    assert [str(network) for network in site.internal] == ["10.1.0.0/16"]
    assert site.privacy.consent == "required"
    assert site.programme.thresholds() == {"engagement": (None, 12.0)}
    assert compile_site(site_record()).internal == ()


@pytest.mark.parametrize(
    ("settings", "where"),
    [({"internal_ips": "10.0.0.0/8"}, "settings.internal_ips"), ({"consent": "maybe"}, "settings.consent")],
)
def test_compile_site_refuses_bad_settings(settings: dict[str, object], where: str) -> None:
    with pytest.raises(ProgrammeError) as caught:
        compile_site(site_record(**settings))
    assert caught.value.where == where


def test_load_programme_file(tmp_path: Path) -> None:
    path = tmp_path / "programme.toml"
    path.write_text(FIRST, encoding="utf-8")
    assert load_programme_file(path).thresholds() == {"engagement": (None, 12.0)}
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(ProgrammeError) as broken:
        load_programme_file(path)
    assert broken.value.where == "scores.engagement.sql"
    missing = tmp_path / "missing.toml"
    with pytest.raises(ProgrammeError) as caught:
        load_programme_file(missing)
    assert (caught.value.where, caught.value.message) == (str(missing), "cannot read file: No such file or directory")


async def test_seeding_creates_a_missing_site_and_never_overwrites_a_published_programme(server: Server) -> None:
    created = await seed_site(server.runtime.store, "acme", name="Acme", programme=FIRST, now=server.clock())
    assert (created.name, created.programme) == ("Acme", FIRST)
    # What a marketer published since is theirs: seeding again (a restart of --demo) keeps it.
    await save(server, SECOND)
    again = await seed_site(server.runtime.store, "acme", name="Acme", programme=FIRST, now=server.clock())
    assert again.programme == SECOND
    latest = await server.runtime.store.read(lambda q: q.latest_programme_version(created.id))
    assert latest is not None and latest.number == 2
