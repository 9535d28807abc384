"""``tracker sites`` and ``tracker keys``: sites (settings, internal ranges, list) and their API
keys (create — shown once —, list, revoke), through the services the console uses, so every
change lands in the audit log as the command line's ("cli")."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from tracker.config import Settings
from tracker.domain.clock import iso
from tracker.domain.privacy import CONSENT_MODES, IP_MODES, SIGNAL_MODES, PrivacySettings
from tracker.domain.programme.load import Programme
from tracker.domain.roles import KEY_ROLES
from tracker.domain.sites import INTERNAL_SETTING
from tracker.errors import HTTPError
from tracker.services.api_keys import create_key, keys_of, revoke_key
from tracker.services.site_settings import SiteChange, SiteErrors, save_settings
from tracker.services.sites import save_site
from tracker.store import SiteRecord, Store
from tracker.web.params import int_param

Option = Callable[[Any], Any]
WithStore = Callable[[Settings, Callable[[Store], Awaitable[Any]]], Any]
CLI = "cli"


def embed_line(key: str) -> str:
    return f'embed: <script async src="https://YOUR_TRACKER_HOST/t.js" data-site="{key}"></script>'


def privacy_line(policy: PrivacySettings) -> str:
    identified = policy.retention_identified_days
    return (
        f"privacy: consent {policy.consent}, DNT {policy.dnt}, GPC {policy.gpc}, IP {policy.ip}; inactive people kept"
        f" {policy.retention_anonymous_days} days if anonymous, "
        + (f"{identified} days if identified" if identified else "forever if identified")
    )


def _days_or_never(raw: str) -> int | None:
    if raw == "never":
        return None
    try:
        return int_param(raw, "days", minimum=1)
    except HTTPError:
        raise click.BadParameter(
            "a number of days (1 or more) or never", param_hint="--retention-identified-days"
        ) from None


async def _save(store: Store, key: str, change: SiteChange, create: bool | None) -> SiteRecord:
    try:
        return await save_settings(store, key, change, create=create, actor=CLI, now=time.time())
    except SiteErrors as exc:
        raise click.ClickException(str(exc)) from None


def sites_group(
    data_dir_option: Option, db_option: Option, with_store: WithStore, compile_file: Callable[[Path], Programme]
) -> click.Group:
    """The ``sites`` command group, built with the CLI's shared options, store runner and compiler."""

    @click.group()
    def sites() -> None:
        """Sites (one per customer website)."""

    @sites.command("add")
    @click.argument("key")
    @click.option("--name", default=None)
    @click.option(
        "--origin", "origins", multiple=True, help="Allowed page origin, e.g. https://www.example.com (repeat)."
    )
    @click.option("--programme", "programme_file", type=click.Path(dir_okay=False, path_type=Path), default=None)
    @click.option(
        "--consent", type=click.Choice(CONSENT_MODES), default=None, help="required: keep nothing until consent."
    )
    @click.option("--dnt", type=click.Choice(SIGNAL_MODES), default=None, help="Do Not Track (default honour).")
    @click.option(
        "--gpc", type=click.Choice(SIGNAL_MODES), default=None, help="Global Privacy Control (default honour)."
    )
    @click.option("--ip", type=click.Choice(IP_MODES), default=None, help="drop (default) or keep a /24 or /48 prefix.")
    @click.option(
        "--retention-anonymous-days", type=click.IntRange(min=1), default=None, help="Default 395 days of inactivity."
    )
    @click.option(
        "--retention-identified-days", default=None, metavar="DAYS|never", help="Default 1095 days of inactivity."
    )
    @click.option("--home", default=None, help='Where expired e-mail links lead (default the first origin; "" resets).')
    @data_dir_option
    @db_option
    def sites_add(
        key: str,
        name: str | None,
        origins: tuple[str, ...],
        programme_file: Path | None,
        retention_identified_days: str | None,
        home: str | None,
        data_dir: Path | None,
        db: str | None,
        **given: Any,
    ) -> None:
        """Create or update site KEY (audited)."""
        source = compile_file(programme_file).source if programme_file else None
        privacy: dict[str, Any] = {option: value for option, value in given.items() if value is not None}
        if retention_identified_days is not None:
            privacy["retention_identified_days"] = _days_or_never(retention_identified_days)
        settings = Settings.from_env(data_dir=data_dir, db=db)

        async def run(store: Store) -> PrivacySettings:
            change = SiteChange(name=name, origins=list(origins) or None, privacy=privacy or None, home=home)
            await _save(store, key, change, None)
            saved = await save_site(store, key, name=None, origins=None, programme=source, now=time.time())
            return PrivacySettings.from_json(saved.settings)

        policy = with_store(settings, run)
        click.echo(f"site {key!r} saved; {embed_line(key)}")
        click.echo(privacy_line(policy))

    @sites.command("list")
    @data_dir_option
    @db_option
    def sites_list(data_dir: Path | None, db: str | None) -> None:
        """Every site: key, name, origins, privacy settings, internal ranges."""
        settings = Settings.from_env(data_dir=data_dir, db=db)
        records: list[SiteRecord] = with_store(settings, lambda store: store.read(lambda q: q.sites()))
        if not records:
            click.echo("no site yet: tracker sites add KEY")
        for record in records:
            policy = asdict(PrivacySettings.from_json(record.settings))
            internal = ", ".join(record.settings.get(INTERNAL_SETTING, [])) or "none"
            click.echo(f"{record.key}\t{record.name}\torigins {', '.join(record.origins) or 'own pages only'}")
            click.echo("\t" + " ".join(f"{name}={value}" for name, value in policy.items()) + f" internal={internal}")

    @sites.command("internal")
    @click.argument("key")
    @click.argument("ranges", nargs=-1)
    @click.option("--clear", is_flag=True, help="Remove every internal range.")
    @data_dir_option
    @db_option
    def sites_internal(key: str, ranges: tuple[str, ...], clear: bool, data_dir: Path | None, db: str | None) -> None:
        """Set the address RANGES (CIDR) of site KEY's own staff, whose traffic is ignored; none given: show them."""
        settings = Settings.from_env(data_dir=data_dir, db=db)
        given = list(ranges) if ranges or clear else None

        async def run(store: Store) -> list[str]:
            site = await store.read(lambda q: q.site_by_key(key))
            if site is None:
                raise click.ClickException(f"no site {key!r}")
            if given is not None:
                site = await _save(store, key, SiteChange(internal=given), False)
            return list(site.settings.get(INTERNAL_SETTING, []))

        click.echo(f"site {key!r}: internal ranges {', '.join(with_store(settings, run)) or 'none'}")

    return sites


def keys_group(data_dir_option: Option, db_option: Option, with_store: WithStore) -> click.Group:
    """The ``keys`` command group."""

    @click.group()
    def keys() -> None:
        """API keys of a site (the sales, marketing, ingest and admin APIs)."""

    @keys.command("create")
    @click.option("--role", type=click.Choice(KEY_ROLES), required=True)
    @click.option("--site", "site_key", required=True)
    @click.option("--name", default="", help="Who or what the key is for.")
    @data_dir_option
    @db_option
    def keys_create(role: str, site_key: str, name: str, data_dir: Path | None, db: str | None) -> None:
        """Create an API key; it is shown once (only its digest is stored)."""
        settings = Settings.from_env(data_dir=data_dir, db=db)

        async def run(store: Store) -> str:
            try:
                _, key = await create_key(store, site_key, role, name, actor=CLI, now=time.time())
            except HTTPError as exc:
                raise click.ClickException(exc.message) from None
            return key

        key = with_store(settings, run)
        click.echo(f"{role} key for site {site_key!r} (shown once):", err=True)
        click.echo(key)

    @keys.command("list")
    @click.option("--site", "site_key", default=None, help="Only this site's keys.")
    @data_dir_option
    @db_option
    def keys_list(site_key: str | None, data_dir: Path | None, db: str | None) -> None:
        """Keys (never the keys themselves): id, site, role, name, created, last used."""
        settings = Settings.from_env(data_dir=data_dir, db=db)

        async def run(store: Store) -> tuple[dict[int, str], list[Any]]:
            records = await store.read(lambda q: q.sites())
            keys_by_id = {record.id: record.key for record in records}
            site_id = next((record.id for record in records if record.key == site_key), None)
            if site_key is not None and site_id is None:
                raise click.ClickException(f"no site {site_key!r}")
            return keys_by_id, await keys_of(store, site_id)

        site_keys, found = with_store(settings, run)
        if not found:
            click.echo("no API key yet: tracker keys create --role ROLE --site KEY")
        for key in found:
            last = iso(key.last_used_at) if key.last_used_at is not None else "never used"
            site = site_keys.get(key.site_id, key.site_id)
            click.echo(f"{key.id}\t{site}\t{key.role}\t{key.name or '-'}\t{iso(key.created_at)}\t{last}")

    @keys.command("revoke")
    @click.argument("key_id", type=int)
    @data_dir_option
    @db_option
    def keys_revoke(key_id: int, data_dir: Path | None, db: str | None) -> None:
        """Revoke key KEY_ID (from `tracker keys list`): requests with it are refused at once."""
        settings = Settings.from_env(data_dir=data_dir, db=db)

        async def run(store: Store) -> str:
            try:
                record = await revoke_key(store, key_id, actor=CLI, now=time.time())
            except HTTPError as exc:
                raise click.ClickException(exc.message) from None
            return f"{record.role} key {record.id} ({record.name or 'unnamed'}) revoked"

        click.echo(with_store(settings, run))

    return keys
