"""``tracker simulate``: write a simulated history into a site, with the truth it was planted from."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from tracker.cli_users import Option, WithStore
from tracker.config import Settings
from tracker.domain.planted import DEMO_PLAN, Plan, Truth
from tracker.domain.sites import Site
from tracker.store import Store


def simulate_command(data_dir_option: Option, db_option: Option, with_store: WithStore) -> click.Command:
    @click.command("simulate")
    @click.option("--site", "site_key", required=True, help="Site key; 'demo' is created with the seed programme.")
    @click.option("--people", default=5000, show_default=True, type=click.IntRange(min=1, max=1_000_000))
    @click.option("--days", default=90, show_default=True, type=click.IntRange(min=1, max=3650))
    @click.option("--seed", default=1, show_default=True, type=int, help="Same seed and --now: same history.")
    @click.option(
        "--now",
        "now_at",
        type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
        default=None,
        help="When the history ends (UTC; default: now).",
    )
    @click.option(
        "--plan",
        "plan_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help='Planted effects as JSON (the "plan" a --truth file holds); default: the demo\'s.',
    )
    @click.option(
        "--truth",
        "truth_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Write the planted truth (plan, every lead's fate) to this JSON file.",
    )
    @data_dir_option
    @db_option
    def simulate_cmd(
        site_key: str,
        people: int,
        days: int,
        seed: int,
        now_at: datetime | None,
        plan_file: Path | None,
        truth_file: Path | None,
        data_dir: Path | None,
        db: str | None,
    ) -> None:
        """Generate PEOPLE visitors over DAYS into an empty site, through the ingest pipeline.

        Anonymous and identified visitors on the demo site's pages, downloads, forms, several
        devices, bots, and the outcomes sales records, decided by planted effects (--plan).
        """
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        from tracker.services.simulate import simulate

        plan = _plan(plan_file) if plan_file is not None else DEMO_PLAN
        settings = Settings.from_env(data_dir=data_dir, db=db)
        now = now_at.replace(tzinfo=UTC).timestamp() if now_at is not None else time.time()

        async def run(store: Store) -> Truth:
            site = await _empty_site(store, site_key, now)
            columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns) as bar:
                task = bar.add_task("simulating", total=None)
                return await simulate(
                    store,
                    site,
                    plan,
                    now=now,
                    seed=seed,
                    people=people,
                    days=days,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )

        started = time.perf_counter()
        truth: Truth = with_store(settings, run)
        seconds = time.perf_counter() - started
        if truth_file is not None:
            truth_file.write_text(json.dumps(truth.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
        won = sum(map(truth.won, truth.leads))
        click.echo(
            f"simulated {truth.people} people over {days} days into site {site_key!r}: {truth.requests} requests,"
            f" {truth.events} events, {len(truth.leads)} leads, {truth.outcomes} outcomes ({won} won),"
            f" {truth.bots} bot requests"
        )
        click.echo(f"written in {seconds:.1f} s ({truth.events / max(seconds, 1e-9):,.0f} events/s)")
        if truth_file is not None:
            click.echo(f"truth written to {truth_file}")

    return simulate_cmd


def _plan(file: Path) -> Plan:
    try:
        return Plan.from_json(json.loads(file.read_text(encoding="utf-8")))
    except (ValueError, UnicodeDecodeError) as exc:  # PlanError and JSON errors are ValueErrors
        raise click.ClickException(f"{file}: {exc}") from None


async def _empty_site(store: Store, key: str, now: float) -> Site:
    """The site ``key`` (the demo's is created if missing); refused if it has people already.

    Mixed with real or earlier simulated people, a history would no longer match its truth.
    """
    from tracker.app import DEMO_NAME, DEMO_PROGRAMME, DEMO_SITE
    from tracker.services.sites import compile_site, seed_site

    found = await store.read(lambda q: q.site_by_key(key))
    if found is None and key == DEMO_SITE:
        found = await seed_site(store, key, name=DEMO_NAME, programme=DEMO_PROGRAMME.read_text("utf-8"), now=now)
    if found is None:
        raise click.ClickException(f"no site {key!r} (tracker sites add {key} ...)")
    site = compile_site(found)
    people = sum((await store.read(lambda q: q.stage_counts(site.id))).values())
    if people:
        raise click.ClickException(f"site {key!r} has {people} people already: simulate into a site without any")
    return site
