"""``tracker email link``: a click link (and the open pixel) for one known person, for an e-mail
sent by hand or a test message; ``POST /api/email-links`` mints them for a whole mailing list.

The links are signed with this install's secret (``--data-dir`` or ``TRACKER_SECRET``), so they
work on the server that shares it; ``--base-url`` is where recipients reach that server.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from tracker.cli_sites import Option, WithStore
from tracker.config import Settings
from tracker.domain.clock import iso
from tracker.domain.email_links import (
    LINK_SECONDS,
    EmailLinks,
    LinkError,
    campaign_name,
    click_url,
    open_url,
    safe_target,
)
from tracker.services.email_links import mint
from tracker.services.sites import compile_site
from tracker.store import Store


def email_group(data_dir_option: Option, db_option: Option, _with_store: WithStore) -> click.Group:
    """The ``email`` command group, built with the CLI's shared options and store runner."""

    @click.group()
    def email() -> None:
        """Trackable e-mail links for known people (tracker sends no e-mail)."""

    @email.command("link")
    @click.argument("urls", nargs=-1, required=True)
    @click.option("--person", "address", required=True, help="The recipient's e-mail; a person the site knows.")
    @click.option("--campaign", required=True, help="The e-mail campaign, as rules name it (when.name).")
    @click.option("--site", "site_key", default=None, help="Site key (default: the only site).")
    @click.option(
        "--base-url", default="http://127.0.0.1:8000", show_default=True, help="Where recipients reach tracker."
    )
    @data_dir_option
    @db_option
    def email_link(
        urls: tuple[str, ...],
        address: str,
        campaign: str,
        site_key: str | None,
        base_url: str,
        data_dir: Path | None,
        db: str | None,
    ) -> None:
        """Print a signed click link per URL, then the open pixel's address (valid 90 days)."""
        try:
            name = campaign_name(campaign)
        except LinkError as exc:
            raise click.BadParameter(str(exc), param_hint="--campaign") from None
        targets: list[str] = []
        for url in urls:
            try:
                targets.append(safe_target(url))
            except LinkError as exc:
                raise click.BadParameter(f"{url}: {exc}", param_hint="URL") from None
        settings = Settings.from_env(data_dir=data_dir, db=db)
        signer = EmailLinks(settings.signing_secret())

        async def run(store: Store) -> Any:
            records = await store.read(lambda q: q.sites())
            chosen = [r for r in records if r.key == site_key] if site_key else records
            if len(chosen) != 1:
                known = ", ".join(r.key for r in records) or "none"
                raise click.ClickException(
                    f"no site {site_key!r} (sites: {known})" if site_key else f"name the site with --site ({known})"
                )
            now = time.time()
            return await mint(store, signer, compile_site(chosen[0]), name, targets, [address], now), now

        (minted, refused), now = _with_store(settings, run)
        if refused:
            click.echo(f"{address}: {refused[0].reason}", err=True)
            sys.exit(1)
        [row] = minted
        for token in row.clicks:
            click.echo(click_url(base_url, token))
        click.echo(open_url(base_url, row.open))
        click.echo(f"person {row.person_id}, campaign {name}, valid until {iso(now + LINK_SECONDS)}", err=True)

    return email
