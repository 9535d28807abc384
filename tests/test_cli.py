"""The ``tracker`` command line."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tracker.cli import main
from tracker.domain.keys import digest
from tracker.store import open_store

from .conftest import SEED_GRID
from .test_services_accounts import SECTION

BROKEN_POINTS = """
[scores.engagement]
[[rules]]
id = "wp-a"
score = "engagement"
when = { type = "download" }
points = "no_such_token"
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_programme_check_accepts_the_seed_grid() -> None:
    code, out, _ = run("programme", "check", "examples/seed-programme.toml")
    assert code == 0
    assert "ok" in out and "engagement: mql=8 sql=12" in out


def test_programme_check_sums_up_the_accounts_section(tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(SEED_GRID + SECTION)
    code, out, _ = run("programme", "check", str(grid))
    assert code == 0 and "accounts: scores potential, health; 2 rules; stages renewal_due, upsell" in out


def test_programme_check_names_the_rule_and_key(tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(BROKEN_POINTS)
    code, _, err = run("programme", "check", str(grid))
    assert code == 1
    assert "rules[wp-a].points" in err and "no_such_token" in err
    grid.write_text("[scores.engagement\n")
    code, _, err = run("programme", "check", str(grid))
    assert code == 1 and "toml" in err
    code, _, err = run("programme", "check", str(tmp_path / "missing.toml"))
    assert code == 1 and "cannot read" in err


def test_retention_days_are_ascii_digits(tmp_path: Path) -> None:
    for days in ("²", "0", "-3"):  # "²" passes str.isdigit(): int() raised a traceback
        code, _, err = run("sites", "add", "acme", "--retention-identified-days", days, "--data-dir", str(tmp_path))
        assert code == 2 and "a number of days (1 or more) or never" in err


def test_sites_keys_and_threshold_changes_need_both_sides(tmp_path: Path) -> None:
    data = str(tmp_path)
    grid = tmp_path / "grid.toml"
    grid.write_text(SEED_GRID)
    assert (
        run("sites", "add", "acme", "--origin", "https://www.acme.fr", "--programme", str(grid), "--data-dir", data)[0]
        == 0
    )

    code, out, _ = run("keys", "create", "--role", "sales", "--site", "acme", "--data-dir", data)
    assert code == 0
    key = out.strip().splitlines()[-1]
    assert key.startswith("tk_")

    async def stored() -> list[str]:
        store = open_store(str(tmp_path / "tracker.db"))
        await store.open()
        try:
            return [r["hash"] for r in await store.read(lambda q: q.conn.fetchall("SELECT hash FROM api_keys"))]
        finally:
            await store.close()

    assert asyncio.run(stored()) == [digest(key)]

    raised = tmp_path / "raised.toml"
    raised.write_text(SEED_GRID.replace("sql = 12", "sql = 20"))
    code, _, err = run("programme", "load", str(raised), "--site", "acme", "--data-dir", data)
    assert code == 1 and "marketing and sales must both agree" in err and "engagement" in err
    code, out, _ = run(
        "programme", "load", str(raised), "--site", "acme", "--data-dir", data,
        "--approved-by-marketing", "Anne", "--approved-by-sales", "Bruno",
    )  # fmt: skip
    assert code == 0 and "thresholds" in out

    async def agreed() -> list[tuple[Any, ...]]:
        store = open_store(str(tmp_path / "tracker.db"))
        await store.open()
        try:
            site = await store.read(lambda q: q.site_by_key("acme"))
            assert site is not None
            proposals = await store.read(lambda q: q.proposals(site.id, ("applied",), 10))
            audit = await store.read(lambda q: q.audit_entries(site.id, 10))
        finally:
            await store.close()
        applied = [e["detail"] for e in audit if e["action"] == "threshold_applied"]
        return [(p.score, p.before, p.after, p.proposed_by, p.marketing_by, p.sales_by) for p in proposals] + [
            (d["before"], d["after"], d["marketing"], d["sales"]) for d in applied
        ]

    # Audited as a console approval is: an applied proposal naming both sides.
    assert asyncio.run(agreed()) == [
        ("engagement", (8.0, 12.0), (8.0, 20.0), "cli", "Anne", "Bruno"),
        ({"mql": 8.0, "sql": 12.0}, {"mql": 8.0, "sql": 20.0}, "Anne", "Bruno"),
    ]
    # Same thresholds, other points: marketing alone may do it.
    reweighted = tmp_path / "reweighted.toml"
    reweighted.write_text(SEED_GRID.replace("sql = 12", "sql = 20").replace("wp_general = 2", "wp_general = 3"))
    assert run("programme", "load", str(reweighted), "--site", "acme", "--data-dir", data)[0] == 0

    assert run("keys", "create", "--role", "sales", "--site", "nope", "--data-dir", data)[0] == 1
    assert run("programme", "load", str(grid), "--site", "nope", "--data-dir", data)[0] == 1


def test_backup_is_a_consistent_copy_taken_while_serving(tmp_path: Path) -> None:
    data = tmp_path / "data"
    grid = tmp_path / "grid.toml"
    grid.write_text(SEED_GRID)
    assert run("sites", "add", "acme", "--programme", str(grid), "--data-dir", str(data))[0] == 0
    assert run("keys", "create", "--role", "sales", "--site", "acme", "--data-dir", str(data))[0] == 0
    target = tmp_path / "copy.db"
    code, out, _ = run("backup", str(target), "--data-dir", str(data))
    assert code == 0 and "backup written" in out

    async def keys_in_copy() -> int:
        store = open_store(str(target))
        await store.open()
        try:
            return int(await store.read(lambda q: q.conn.fetchval("SELECT COUNT(*) FROM api_keys")))
        finally:
            await store.close()

    assert asyncio.run(keys_in_copy()) == 1
    assert run("backup", str(target), "--data-dir", str(data))[0] == 1  # never overwrites
    code, _, err = run("backup", str(tmp_path / "pg.dump"), "--db", "postgresql://postgres@127.0.0.1:5432/test")
    assert code == 1 and "pg_dump" in err
