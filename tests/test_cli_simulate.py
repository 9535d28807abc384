"""``tracker simulate``: a simulated history into an empty site of a temporary SQLite database."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tracker.app import DEMO_PROGRAMME, DEMO_SITE
from tracker.cli import _with_store
from tracker.cli_demo import demo_history_line
from tracker.config import Settings

from .test_cli import run


def test_simulate_writes_a_history_and_its_truth_then_refuses_to_mix_another(tmp_path: Path) -> None:
    truth_file = tmp_path / "truth.json"
    args = ("--people", "120", "--days", "15", "--seed", "3", "--data-dir", str(tmp_path), "--now", "2026-01-01")
    code, out, err = run("simulate", "--site", DEMO_SITE, *args, "--truth", str(truth_file))
    assert code == 0, err
    summary = re.search(
        r"simulated 120 people over 15 days into site 'demo': (\d+) requests, (\d+) events, (\d+) leads,"
        r" (\d+) outcomes \((\d+) won\), (\d+) bot requests\nwritten in [\d.]+ s \([\d,]+ events/s\)",
        out,
    )
    assert summary is not None, out
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    counts = truth["counts"]
    requests, events, leads, outcomes, won, bots = map(int, summary.groups())
    assert (requests, events, leads, outcomes, won, bots) == (
        counts["requests"],
        counts["events"],
        counts["leads"],
        counts["outcomes"],
        counts["won"],
        counts["bots"],
    )
    assert truth["seed"] == 3 and truth["now"] == 1_767_225_600.0 and len(truth["leads"]) == leads > 20
    assert {"email", "did", "score", "chance", "buys", "decided_at"} <= truth["leads"][0].keys()
    # The site has people now: a second history would no longer match a truth.
    code, _, err = run("simulate", "--site", DEMO_SITE, *args)
    assert code == 1 and "has" in err and "people already" in err
    # The demo's own history sees its site taken and adds nothing.
    assert demo_history_line(Settings(data_dir=tmp_path, secret="s"), _with_store) == "demo history: already there"


def test_simulate_needs_a_site_that_exists(tmp_path: Path) -> None:
    code, _, err = run("simulate", "--site", "acme", "--people", "10", "--data-dir", str(tmp_path))
    assert code == 1 and "no site 'acme'" in err
    code, _, _ = run("sites", "add", "acme", "--origin", "https://acme.test", "--programme", str(DEMO_PROGRAMME),
                     "--data-dir", str(tmp_path))  # fmt: skip
    assert code == 0
    code, out, err = run("simulate", "--site", "acme", "--people", "30", "--days", "5", "--data-dir", str(tmp_path))
    assert code == 0 and "into site 'acme'" in out, err


def test_the_same_seed_and_now_write_the_same_truth(tmp_path: Path) -> None:
    truths = []
    for name in ("one", "two"):
        truth = tmp_path / f"{name}.json"
        args = ("--people", "40", "--days", "10", "--seed", "9", "--now", "2026-03-01T12:00:00", "--truth", str(truth))
        code, _, err = run("simulate", "--site", DEMO_SITE, *args, "--data-dir", str(tmp_path / name))
        assert code == 0, err
        truths.append(truth.read_text(encoding="utf-8"))
    assert truths[0] == truths[1]


def test_simulate_plants_the_effects_of_a_plan_file_and_names_a_wrong_key(tmp_path: Path) -> None:
    plan, truth = tmp_path / "plan.json", tmp_path / "truth.json"
    plan.write_text(json.dumps({"base": 1.0, "window": [0.1, 0.2]}), encoding="utf-8")
    args = ("--people", "40", "--days", "10", "--data-dir", str(tmp_path), "--truth", str(truth))
    code, _, err = run("simulate", "--site", DEMO_SITE, "--plan", str(plan), *args)
    assert code == 0, err
    planted = json.loads(truth.read_text(encoding="utf-8"))
    assert planted["plan"]["base"] == 1.0 and planted["plan"]["behaviours"] == []
    assert all(lead["buys"] for lead in planted["leads"])  # every lead buys: the plan was used
    plan.write_text(json.dumps({"base": 2}), encoding="utf-8")
    code, _, err = run("simulate", "--site", DEMO_SITE, "--plan", str(plan), *args)
    assert code == 1 and f"{plan}: base: a number from 0 to 1" in err
    plan.write_text("{", encoding="utf-8")
    code, _, err = run("simulate", "--site", DEMO_SITE, "--plan", str(plan), *args)
    assert code == 1 and str(plan) in err
