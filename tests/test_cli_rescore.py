"""``tracker what-if`` and ``tracker rescore`` (tracker/cli_rescore.py): the summary a marketer reads,
the dry run that writes nothing, and a rescore that says the same as the what-if before it."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from tracker.domain.planted import DEMO_PLAN
from tracker.services.simulate import simulate
from tracker.services.sites import compile_site, seed_site
from tracker.store import open_store

from .conftest import SEED_GRID
from .rescore_history import DRAFT
from .test_cli import run


def demo_site(data: Path) -> None:
    async def write() -> None:
        store = open_store(str(data / "tracker.db"))
        await store.open()
        try:
            now = time.time()
            site = compile_site(await seed_site(store, "demo", name="Demo", programme=SEED_GRID, now=now))
            await simulate(store, site, DEMO_PLAN, now=now, people=40)
        finally:
            await store.close()

    asyncio.run(write())


def test_what_if_then_rescore_tell_the_same_story(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    demo_site(tmp_path)
    draft = tmp_path / "draft.toml"
    draft.write_text(DRAFT, encoding="utf-8")
    code, said, err = run("what-if", "--site", "demo", "--programme", str(draft), "--days", "400", *data)
    assert code == 0, err
    assert "demo: this programme against version 1, last 400 days" in said
    assert "change stage" in said and "engagement: band" in said
    story, conversion = said.split("\n", 1)[1].split("conversion by engagement band (won; ")
    # A line per band: converted/leads and the rate's interval now, then with the draft.
    assert re.search(r"\n  -?\d+-\d+ +\d+/\d+ .*\| +\d+/\d+", conversion)
    code, unchanged, _ = run("rescore", "--site", "demo", "--dry-run", *data)
    assert code == 0 and " 0 change stage, 0 no longer qualify" in unchanged
    assert run("programme", "load", str(draft), "--site", "demo", *data)[0] == 0
    code, dry, _ = run("rescore", "--site", "demo", "--dry-run", *data)
    code, done, err = run("rescore", "--site", "demo", *data)
    assert code == 0, err
    assert "demo: rescore job 1 with version 2" in done
    # The same people move, the same distributions: the summary after the title lines is the what-if's.
    assert story in done and story in dry
    code, again, _ = run("rescore", "--site", "demo", "--dry-run", *data)
    assert " 0 change stage" in again


def test_errors_are_named(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    demo_site(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(DRAFT.replace('points = "wp_vision"', 'points = "nope"'), encoding="utf-8")
    code, _, err = run("what-if", "--site", "demo", "--programme", str(bad), *data)
    assert code == 1 and "rules[wp-c].points: unknown token 'nope'" in err
    code, _, err = run("what-if", "--site", "demo", "--programme", str(bad).replace("bad", "draft"), *data)
    assert code == 2
    (tmp_path / "draft.toml").write_text(DRAFT, encoding="utf-8")
    code, _, err = run("what-if", "--site", "nope", "--programme", str(tmp_path / "draft.toml"), *data)
    assert code == 1 and "no site 'nope'" in err
    code, _, err = run("what-if", "--site", "demo", "--programme", str(tmp_path / "draft.toml"), "--days", "0", *data)
    assert code == 1 and "days must be from 1" in err
