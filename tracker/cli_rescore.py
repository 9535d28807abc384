"""``tracker what-if`` and ``tracker rescore``: a draft programme replayed over stored history with
nothing written, and the active version's re-scoring of a site's history (progress bar, resumable)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from tracker.config import Settings
from tracker.domain.programme.load import Programme, load_programme
from tracker.domain.rescoring import band_labels
from tracker.errors import HTTPError
from tracker.services import rescore
from tracker.services.what_if import active_version, check_days, named, what_if
from tracker.store import Store

Option = Callable[[Any], Any]
WithStore = Callable[[Settings, Callable[[Store], Awaitable[Any]]], Any]


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """A what-if's or a rescore's summary as the terminal shows it."""
    stages = summary["stages"]
    lines = [
        f"{summary['people']} people replayed: {summary['changed']} change stage,"
        f" {summary['no_longer_qualify']} no longer qualify (they keep their stage)",
        "stage       now   after",
        *(f"{stage:<10}{stages['before'][stage]:>5}{stages['after'][stage]:>8}" for stage in stages["before"]),
    ]
    for name, score in summary["scores"].items():
        lines.append(f"{name}: band        now   after")
        for label, now, after in zip(band_labels(score["edges"]), score["before"], score["after"], strict=True):
            lines.append(f"  {label:<16}{now:>5}{after:>8}")
    for person in summary["people_listed"]:
        kept = "" if person["after"] == person["warranted"] else f" (its scores say {person['warranted']}: kept)"
        lines.append(f"  person {person['id']} {person['email'] or '-'}: {person['before']} -> {person['after']}{kept}")
    return lines


def conversion_lines(conversion: dict[str, Any] | None) -> list[str]:
    """A what-if's conversion by band, a line per band: leads, converted and rate now, then with the draft."""
    if conversion is None:
        return []
    converting = ", ".join(conversion["converting"])
    lines = [f"conversion by {conversion['score']} band ({converting}; leads at conversion, else now): now | draft"]
    for now, draft in zip(conversion["before"], conversion["after"], strict=True):
        label = f"{now['low']:g}-{now['high']:g}" if now["high"] is not None else f">= {now['low']:g}"
        lines.append(f"  {label:<12}{_converted(now)} | {_converted(draft)}".rstrip())
    return lines


def _converted(band: dict[str, Any]) -> str:
    """``converted/leads rate% [low-high]``, padded so that the draft's column lines up."""
    rate = band["rate"]
    spread = ""
    if rate is not None:
        spread = f" {100 * rate['estimate']:.1f}% [{100 * rate['low']:.1f}-{100 * rate['high']:.1f}]"
    return f"{band['converted']:>4}/{band['leads']:<5}{spread:<22}"


def rescore_commands(
    data_dir_option: Option, db_option: Option, with_store: WithStore, compile_file: Callable[[Path], Programme]
) -> list[click.Command]:
    """The commands, built with the CLI's shared options, store runner and compiler."""

    @click.command("what-if")
    @click.option("--site", "site_key", required=True)
    @click.option(
        "--programme", "programme_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
    )
    @click.option("--days", default=90, show_default=True, type=int, help="People seen in the last N days.")
    @data_dir_option
    @db_option
    def what_if_command(site_key: str, programme_file: Path, days: int, data_dir: Path | None, db: str | None) -> None:
        """What publishing a programme would change for the people seen in the last N days; writes nothing."""
        draft = compile_file(programme_file)
        settings = Settings.from_env(data_dir=data_dir, db=db)
        try:
            check_days(days)
            version, summary = with_store(settings, lambda store: _what_if(store, site_key, draft, days))
        except HTTPError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"{site_key}: this programme against version {version}, last {days} days")
        click.echo("\n".join(summary_lines(summary) + conversion_lines(summary["conversion"])))

    @click.command("rescore")
    @click.option("--site", "site_key", required=True)
    @click.option("--dry-run", is_flag=True, help="Print what the rescore would change; write nothing.")
    @data_dir_option
    @db_option
    def rescore_command(site_key: str, dry_run: bool, data_dir: Path | None, db: str | None) -> None:
        """Re-score the site's whole history with its active programme version.

        Resumable: run it again after an interruption and it carries on from its last batch.
        """
        settings = Settings.from_env(data_dir=data_dir, db=db)
        try:
            summary = with_store(settings, lambda store: (_dry_run if dry_run else _run)(store, site_key))
        except HTTPError as exc:
            raise click.ClickException(exc.message) from None
        click.echo("\n".join(summary_lines(summary)))

    return [what_if_command, rescore_command]


async def _what_if(store: Store, site_key: str, draft: Programme, days: int) -> tuple[int, dict[str, Any]]:
    result = await what_if(store, site_key, draft, days=days, now=time.time())
    return result.version, await named(store, result.to_json())


async def _dry_run(store: Store, site_key: str) -> dict[str, Any]:
    site, version = await active_version(store, site_key)
    click.echo(f"{site_key}: what re-scoring with version {version} would change (nothing written)")
    result = await what_if(store, site_key, load_programme(site.programme), days=None, now=time.time())
    return await named(store, result.tally.to_json())


async def _run(store: Store, site_key: str) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    job = await rescore.start(store, site_key, author="cli", now=time.time())
    resumed = f", resumed after {job.done} people" if job.done else ""
    click.echo(f"{site_key}: rescore job {job.id} with version {job.version}{resumed}")
    with Progress("rescoring", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("rescore", total=job.total, completed=job.done)
        done = await rescore.run(store, job.id, clock=time.time, progress=lambda n: bar.advance(task, n))
    return await named(store, done.summary)
