"""``tracker``: run the server and administer sites, programmes and keys."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from starlette.applications import Starlette

from tracker.cli_demo import demo_history_line
from tracker.cli_email import email_group
from tracker.cli_rescore import rescore_commands
from tracker.cli_simulate import simulate_command
from tracker.cli_sites import keys_group, sites_group
from tracker.cli_users import serve_banner, users_group
from tracker.config import Settings
from tracker.domain.clock import iso
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.load import Programme
from tracker.errors import HTTPError, NotFound
from tracker.services import exports
from tracker.services.audit import MAX_LIMIT as MAX_AUDIT
from tracker.services.audit import AuditPage, audit_page
from tracker.services.exports import FORMATS, WHATS
from tracker.services.outbox import EVENTS
from tracker.services.privacy import plan_purge, run_purge
from tracker.services.programmes import Agreement, ThresholdsNeedAgreement
from tracker.services.sites import load_programme_file
from tracker.services.thresholds import publish_agreed
from tracker.services.webhooks import add_webhook, new_secret, remove_webhook, send_test, webhooks_of
from tracker.store import Store, open_store
from tracker.store.audit_queries import INSTALL, AuditFilter
from tracker.web.exports import lead_filter

T = TypeVar("T")

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the SQLite database and the signing secret live (env TRACKER_DATA_DIR, default ./data).",
)
db_option = click.option("--db", default=None, help="Database URL (env TRACKER_DB); default SQLite in the data dir.")


@click.group()
def main() -> None:
    """Anonymous-visitor tracking, lead scoring and on-site personalization."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes (SQLite: one writer, WAL).")
@click.option(
    "--demo", is_flag=True, help="Load the seed programme as site 'demo' and serve the demo site under /demo/."
)
@click.option("--demo-history/--no-demo-history", default=True, help="With --demo: generated visitors on first start.")
@click.option(
    "--sqlite-synchronous",
    type=click.Choice(["full", "normal"], case_sensitive=False),
    default=None,
    help="full (default): nothing acknowledged is lost even on power loss; normal: faster, see README.",
)
@data_dir_option
@db_option
def serve(
    host: str,
    port: int,
    workers: int,
    demo: bool,
    demo_history: bool,
    sqlite_synchronous: str | None,
    data_dir: Path | None,
    db: str | None,
) -> None:
    """Run the HTTP server."""
    import uvicorn

    from tracker.web.one_write import OneWriteProtocol

    # Workers are separate processes: settings travel through the environment.
    if data_dir is not None:
        os.environ["TRACKER_DATA_DIR"] = str(data_dir)
    if db is not None:
        os.environ["TRACKER_DB"] = db
    if sqlite_synchronous is not None:
        os.environ["TRACKER_SQLITE_SYNCHRONOUS"] = sqlite_synchronous.upper()
    os.environ["TRACKER_DEMO"] = "1" if demo else ""
    settings = Settings.from_env()
    if demo and demo_history:
        click.echo(demo_history_line(settings, _with_store))
    click.echo("\n".join(serve_banner(settings, f"http://{host}:{port}", demo, _with_store)))
    uvicorn.run(
        "tracker.cli:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http=OneWriteProtocol,
        proxy_headers=True,
        log_level="warning",
    )


def app_from_env() -> Starlette:
    from tracker.app import create_app

    return create_app(Settings.from_env(demo=os.environ.get("TRACKER_DEMO") == "1"))


@main.group()
def programme() -> None:
    """Check and load scoring programmes (TOML)."""


@programme.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def programme_check(file: Path) -> None:
    """Compile FILE; print what is wrong (rule id and key) and exit 1, or a summary."""
    programme = _compile_or_exit(file)
    scoring = programme.scoring
    click.echo(
        f"{file}: ok — {len(scoring.scores)} scores, {len(scoring.rules)} rules, "
        f"{len(programme.campaigns)} campaigns, {len(programme.routes)} routes, {len(scoring.tokens)} tokens"
    )
    for name, (mql, sql) in programme.thresholds().items():
        click.echo(f"  {name}: mql={_fmt(mql)} sql={_fmt(sql)}")
    accounts = programme.accounts
    if accounts.declared:
        click.echo(
            f"  accounts: scores {', '.join(accounts.scores) or '-'}; {len(accounts.rules)} rules;"
            f" stages {', '.join(accounts.stages) or '-'}"
        )


@programme.command("load")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--site", "site_key", required=True, help="Site key.")
@click.option("--approved-by-marketing", default=None, help="Who in marketing agreed to a threshold change.")
@click.option("--approved-by-sales", default=None, help="Who in sales agreed to a threshold change.")
@data_dir_option
@db_option
def programme_load(
    file: Path,
    site_key: str,
    approved_by_marketing: str | None,
    approved_by_sales: str | None,
    data_dir: Path | None,
    db: str | None,
) -> None:
    """Make FILE the programme of SITE; running servers pick it up within seconds.

    The MQL→SQL threshold is an agreement between marketing and sales (seed 004): a
    programme that changes any threshold needs both --approved-by options.
    """
    programme = _compile_or_exit(file)
    settings = Settings.from_env(data_dir=data_dir, db=db)
    agreed = (
        Agreement(approved_by_marketing, approved_by_sales) if approved_by_marketing and approved_by_sales else None
    )

    async def run(store: Store) -> list[str]:
        comment = f"tracker programme load {file}"
        try:
            return await publish_agreed(
                store, site_key, programme, agreed, author="cli", comment=comment, now=time.time()
            )
        except NotFound:
            raise click.ClickException(f"no site {site_key!r}; create it with `tracker sites add {site_key}`") from None
        except ThresholdsNeedAgreement as exc:
            raise click.ClickException(
                "thresholds change (" + "; ".join(exc.extra.get("changes", [])) + "): marketing and sales must both "
                "agree — pass --approved-by-marketing NAME and --approved-by-sales NAME"
            ) from None
        except HTTPError as exc:  # a stale version: someone published meanwhile
            raise click.ClickException(exc.message) from None

    changed = _with_store(settings, run)
    click.echo(f"loaded {file} into site {site_key!r}" + (f" (thresholds: {'; '.join(changed)})" if changed else ""))


@main.command("purge")
@click.option("--site", "site_key", default=None, help="Only this site (default: every site).")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@data_dir_option
@db_option
def purge(site_key: str | None, dry_run: bool, data_dir: Path | None, db: str | None) -> None:
    """Delete the people each site's retention has expired, with everything they left.

    Running servers do it too, every hour; this is for a first clean-up or a cron job.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    settings = Settings.from_env(data_dir=data_dir, db=db)
    now = time.time()

    async def run(store: Store) -> int:
        try:
            targets = await plan_purge(store, now, site_key)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
        for target in targets:
            click.echo(f"{target.site_key}: {target.count} {target.kind} people inactive for over {target.days} days")
        total = sum(target.count for target in targets)
        if dry_run or not total:
            return 0
        columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns) as bar:
            task = bar.add_task("purging", total=total)
            purged = await run_purge(store, targets, now=now, actor="cli", progress=lambda n: bar.advance(task, n))
        return sum(purged.values())

    started = time.perf_counter()
    deleted = _with_store(settings, run)
    elapsed = time.perf_counter() - started
    if not dry_run:
        click.echo(f"purged {deleted} people in {elapsed:.1f} s ({deleted / max(elapsed, 1e-9):,.0f} people/s)")


@main.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@data_dir_option
@db_option
def backup(target: Path, data_dir: Path | None, db: str | None) -> None:
    """Write a consistent copy of the SQLite database to TARGET while servers keep running.

    PostgreSQL is backed up with its own tools (pg_dump); see README.
    """
    from rich.progress import BarColumn, Progress

    settings = Settings.from_env(data_dir=data_dir, db=db)
    if target.exists():
        raise click.ClickException(f"{target} exists; choose a new file")

    async def run(store: Store) -> None:
        with Progress("{task.description}", BarColumn(), "{task.completed}/{task.total} pages") as bar:
            task = bar.add_task("backing up", total=None)
            try:
                await store.backup(target, lambda done, total: bar.update(task, completed=done, total=total))
            except NotImplementedError as exc:
                raise click.ClickException(str(exc)) from None

    _with_store(settings, run)
    click.echo(f"backup written to {target} ({target.stat().st_size:,} bytes)")


@main.command("audit")
@click.option("--site", "site_key", default=None, help="Only this site's entries.")
@click.option("--install", is_flag=True, help="Only install-wide entries (users).")
@click.option("--actor", default=None, help='Only this actor\'s: "user:3", "key:5", "cli", "scheduler".')
@click.option("--action", default=None, help="Only this action, e.g. erase, key_create, user_role.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1, max=MAX_AUDIT))
@data_dir_option
@db_option
def audit(
    site_key: str | None,
    install: bool,
    actor: str | None,
    action: str | None,
    limit: int,
    data_dir: Path | None,
    db: str | None,
) -> None:
    """The latest changes, newest first: who (users by e-mail), what, before and after."""
    settings = Settings.from_env(data_dir=data_dir, db=db)

    async def run(store: Store) -> AuditPage:
        site_id = INSTALL if install else None
        if site_key is not None:
            site = await store.read(lambda q: q.site_by_key(site_key))
            if site is None:
                raise click.ClickException(f"no site {site_key!r}")
            site_id = site.id
        return await audit_page(store, AuditFilter(site_id, actor, action), limit)

    for entry in _with_store(settings, run).entries:
        subject = "" if entry["subject"] is None else f" person {entry['subject']}"
        detail = json.dumps(entry["detail"], ensure_ascii=False)
        click.echo(f"{iso(entry['at'])} {entry['who']} {entry['action']}{subject} {detail}")


@main.command("export")
@click.option("--site", "site_key", required=True, help="Site key.")
@click.option("--what", type=click.Choice(WHATS), default="leads", show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@click.option("--stage", default=None, help="Comma-separated stages (default known,mql,sql).")
@click.option("--score", default=None, help="Score to filter on (default: the sales score).")
@click.option("--min-score", default=None, help="Lowest score, decay applied.")
@click.option("--max-score", default=None, help="Highest score, decay applied.")
@click.option("--since", default=None, help="Last seen at or after (ISO 8601 or POSIX seconds).")
@click.option("--queue", default=None, help="Only leads routed to this queue.")
@click.option("--owner", default=None, help="Only leads routed to this owner.")
@click.option("--new-since", default=None, help="Entered their current stage at or after (ISO 8601 or POSIX seconds).")
@click.option("--search", "q", default=None, help="Part of the e-mail or company, any case.")
@data_dir_option
@db_option
def export(
    site_key: str, what: str, fmt: str, output: Path, data_dir: Path | None, db: str | None, **filters: str | None
) -> None:
    """Write a site's leads, or every event of them, to a CSV or NDJSON file (audited)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    settings = Settings.from_env(data_dir=data_dir, db=db)
    params = {name: value for name, value in filters.items() if value is not None}
    now = time.time()

    async def run(store: Store) -> int:
        try:
            site = await exports.load_site(store, site_key)
            wanted = lead_filter(site, params)
        except (LookupError, HTTPError) as exc:
            raise click.ClickException(str(exc)) from None
        total = await exports.count_leads(store, site, wanted)
        await exports.audit_export(store, site, "cli", what, fmt, wanted, now)
        columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns) as bar, output.open("wb") as handle:
            task = bar.add_task(f"exporting {what}", total=total)
            async for chunk in exports.export_lines(
                store, site, wanted, what, fmt, now, progress=lambda n: bar.advance(task, n)
            ):
                handle.write(chunk)
        return total

    total = _with_store(settings, run)
    click.echo(f"exported {what} of {total} leads to {output} ({output.stat().st_size:,} bytes)")


@main.group()
def webhooks() -> None:
    """Webhook subscriptions: a CRM hears of leads as they change (payloads and signatures: README)."""


@webhooks.command("add")
@click.argument("url")
@click.option("--site", "site_key", required=True, help="Site key.")
@click.option("--event", "events", multiple=True, type=click.Choice(EVENTS), help="Repeat; default every event.")
@data_dir_option
@db_option
def webhooks_add(url: str, site_key: str, events: tuple[str, ...], data_dir: Path | None, db: str | None) -> None:
    """Send EVENTS of a site to URL; prints the signing secret, shown once."""

    async def run(store: Store) -> dict[str, Any]:
        site = await _site_id(store, site_key)
        try:
            return await add_webhook(store, site, url, list(events) or None, time.time(), actor="cli")
        except HTTPError as exc:
            raise click.ClickException(exc.message) from None

    created = _with_store(Settings.from_env(data_dir=data_dir, db=db), run)
    click.echo(f"webhook {created['id']}: {created['url']} ← {', '.join(created['events'])}")
    click.echo("signing secret (shown once):", err=True)
    click.echo(created["secret"])


@webhooks.command("list")
@click.option("--site", "site_key", required=True, help="Site key.")
@data_dir_option
@db_option
def webhooks_list(site_key: str, data_dir: Path | None, db: str | None) -> None:
    """A site's subscriptions (never their secrets)."""

    async def run(store: Store) -> list[dict[str, Any]]:
        return await webhooks_of(store, await _site_id(store, site_key))

    for hook in _with_store(Settings.from_env(data_dir=data_dir, db=db), run):
        click.echo(f"{hook['id']}  {hook['url']}  {', '.join(hook['events'])}")


@webhooks.command("remove")
@click.argument("webhook_id", type=int)
@click.option("--site", "site_key", required=True, help="Site key.")
@data_dir_option
@db_option
def webhooks_remove(webhook_id: int, site_key: str, data_dir: Path | None, db: str | None) -> None:
    """Delete a subscription and its deliveries, sent or not."""

    async def run(store: Store) -> bool:
        site = await _site_id(store, site_key)
        return await remove_webhook(store, site, webhook_id, actor="cli", now=time.time())

    if not _with_store(Settings.from_env(data_dir=data_dir, db=db), run):
        raise click.ClickException(f"no webhook {webhook_id} on site {site_key!r}")
    click.echo(f"webhook {webhook_id} removed")


@webhooks.command("test")
@click.argument("url")
@click.option("--secret", default=None, help="Sign with this secret (default: a new one, printed).")
@click.option("--event", type=click.Choice(EVENTS), default="person.routed", show_default=True)
def webhooks_test(url: str, secret: str | None, event: str) -> None:
    """POST a signed sample delivery to URL, as the server would; exit 1 unless it answers 2xx."""
    key = secret or new_secret()
    try:
        status, error, sent = asyncio.run(send_test(url, key, event, time.time()))
    except HTTPError as exc:
        raise click.ClickException(exc.message) from None
    if secret is None:
        click.echo(f"signed with {key}")
    click.echo(f"Tracker-Signature: {sent['Tracker-Signature']}")
    if error:
        raise click.ClickException(f"{url} did not take the delivery: {error}")
    click.echo(f"{url} answered {status}")


async def _site_id(store: Store, site_key: str) -> int:
    site = await store.read(lambda q: q.site_by_key(site_key))
    if site is None:
        raise click.ClickException(f"no site {site_key!r}")
    return site.id


def _compile_or_exit(file: Path) -> Programme:
    try:
        return load_programme_file(file)
    except ProgrammeError as exc:
        click.echo(f"{file}: {exc.where}: {exc.message}", err=True)
        sys.exit(1)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _with_store(settings: Settings, action: Callable[[Store], Awaitable[T]]) -> T:
    async def run() -> T:
        store = open_store(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
        await store.open()
        try:
            return await action(store)
        finally:
            await store.close()

    return asyncio.run(run())


main.add_command(users_group(data_dir_option, db_option, _with_store))
main.add_command(sites_group(data_dir_option, db_option, _with_store, _compile_or_exit))
main.add_command(keys_group(data_dir_option, db_option, _with_store))
main.add_command(simulate_command(data_dir_option, db_option, _with_store))
for command in rescore_commands(data_dir_option, db_option, _with_store, _compile_or_exit):
    main.add_command(command)
main.add_command(email_group(data_dir_option, db_option, _with_store))
