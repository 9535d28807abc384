"""``tracker``: run the server and administer sites, programmes and keys."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from starlette.applications import Starlette

from .config import Settings
from .errors import GridError
from .keys import ROLES, digest, new_key
from .programme import Programme, load_programme, load_programme_file
from .sites import save_site
from .store import Store, open_store

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
@click.option("--demo", is_flag=True, help="Load the seed grid as site 'demo' and serve the demo site under /demo/.")
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
    sqlite_synchronous: str | None,
    data_dir: Path | None,
    db: str | None,
) -> None:
    """Run the HTTP server."""
    import uvicorn

    # Workers are separate processes: settings travel through the environment.
    if data_dir is not None:
        os.environ["TRACKER_DATA_DIR"] = str(data_dir)
    if db is not None:
        os.environ["TRACKER_DB"] = db
    if sqlite_synchronous is not None:
        os.environ["TRACKER_SQLITE_SYNCHRONOUS"] = sqlite_synchronous.upper()
    os.environ["TRACKER_DEMO"] = "1" if demo else ""
    settings = Settings.from_env()
    settings.signing_secret()  # create it once, before workers race for it
    click.echo(
        f"tracker on http://{host}:{port}/ (database {settings.database_url})" + (", demo at /demo/" if demo else "")
    )
    uvicorn.run(
        "tracker.cli:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        proxy_headers=True,
        log_level="warning",
    )


def app_from_env() -> Starlette:
    from .app import create_app

    return create_app(Settings.from_env(demo=os.environ.get("TRACKER_DEMO") == "1"))


@main.group()
def grid() -> None:
    """Check and load scoring programmes (TOML)."""


@grid.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def grid_check(file: Path) -> None:
    """Compile FILE; print what is wrong (rule id and key) and exit 1, or a summary."""
    programme = _compile_or_exit(file)
    scoring = programme.scoring
    click.echo(
        f"{file}: ok — {len(scoring.scores)} scores, {len(scoring.rules)} rules, "
        f"{len(programme.campaigns)} campaigns, {len(scoring.tokens)} tokens"
    )
    for name, (mql, sql) in programme.thresholds().items():
        click.echo(f"  {name}: mql={_fmt(mql)} sql={_fmt(sql)}")


@grid.command("load")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--site", "site_key", required=True, help="Site key.")
@click.option("--approved-by-marketing", default=None, help="Who in marketing agreed to a threshold change.")
@click.option("--approved-by-sales", default=None, help="Who in sales agreed to a threshold change.")
@data_dir_option
@db_option
def grid_load(
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

    async def run(store: Store) -> list[str]:
        current = await store.read(lambda q: q.site_by_key(site_key))
        if current is None:
            raise click.ClickException(f"no site {site_key!r}; create it with `tracker sites add {site_key}`")
        changed = _threshold_changes(load_programme(current.programme), programme) if current.programme else []
        if changed and not (approved_by_marketing and approved_by_sales):
            raise click.ClickException(
                "thresholds change (" + "; ".join(changed) + "): marketing and sales must both agree — "
                "pass --approved-by-marketing NAME and --approved-by-sales NAME"
            )
        await save_site(store, site_key, name=None, origins=None, programme=programme.source, now=time.time())
        return changed

    changed = _with_store(settings, run)
    click.echo(f"loaded {file} into site {site_key!r}" + (f" (thresholds: {'; '.join(changed)})" if changed else ""))


@main.group()
def sites() -> None:
    """Sites (one per customer website)."""


@sites.command("add")
@click.argument("key")
@click.option("--name", default=None)
@click.option("--origin", "origins", multiple=True, help="Allowed page origin, e.g. https://www.example.com (repeat).")
@click.option("--grid", "grid_file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@data_dir_option
@db_option
def sites_add(
    key: str, name: str | None, origins: tuple[str, ...], grid_file: Path | None, data_dir: Path | None, db: str | None
) -> None:
    """Create or update site KEY."""
    source = _compile_or_exit(grid_file).source if grid_file else None
    settings = Settings.from_env(data_dir=data_dir, db=db)
    _with_store(
        settings,
        lambda store: save_site(
            store, key, name=name, origins=list(origins) or None, programme=source, now=time.time()
        ),
    )
    click.echo(
        f'site {key!r} saved; embed: <script async src="https://YOUR_TRACKER_HOST/t.js" data-site="{key}"></script>'
    )


@main.group()
def keys() -> None:
    """API keys for the sales API."""


@keys.command("create")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--site", "site_key", required=True)
@click.option("--name", default="", help="Who or what the key is for.")
@data_dir_option
@db_option
def keys_create(role: str, site_key: str, name: str, data_dir: Path | None, db: str | None) -> None:
    """Create an API key; it is shown once (only its digest is stored)."""
    settings = Settings.from_env(data_dir=data_dir, db=db)
    key = new_key()

    async def run(store: Store) -> None:
        site = await store.read(lambda q: q.site_by_key(site_key))
        if site is None:
            raise click.ClickException(f"no site {site_key!r}")
        await store.write(lambda q: q.insert_api_key(site.id, role, name, digest(key), time.time()))

    _with_store(settings, run)
    click.echo(f"{role} key for site {site_key!r} (shown once):", err=True)
    click.echo(key)


def _compile_or_exit(file: Path) -> Programme:
    try:
        return load_programme_file(file)
    except GridError as exc:
        click.echo(f"{file}: {exc.where}: {exc.message}", err=True)
        sys.exit(1)


def _threshold_changes(old: Programme, new: Programme) -> list[str]:
    before, after = old.thresholds(), new.thresholds()
    return [
        f"{name}: {before.get(name)} → {after.get(name)}"
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]


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
