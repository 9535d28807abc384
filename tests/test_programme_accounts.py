"""The programme's [accounts] section (domain/programme/accounts.py): what compiles, and errors naming the key."""

from __future__ import annotations

import pytest

from tracker.domain.programme.accounts import NO_ACCOUNTS
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.load import load_programme

from .conftest import SEED_GRID

GRID = """
[scores.engagement]
sql = 10
"""
ACCOUNTS = """
[accounts]
company_field = "societe"
[accounts.scores.potential]
members = "top 2"
of = "engagement"
thresholds = [60, 30]
[accounts.scores.health]
[[accounts.rules]]
id = "big"
score = "potential"
trait = { size = ">= 500" }
points = 20
[[accounts.rules]]
id = "usage"
score = "health"
event = { type = "report run" }
within = "30d"
points = 1
[accounts.stages]
renewal_due = { days = 60 }
upsell = { score = "potential", min = 80 }
at_risk = { usage = { type = "report run" }, window = "14d", drop = 50 }
"""


def test_the_section_compiles_into_scores_rules_and_stages() -> None:
    accounts = load_programme(GRID + ACCOUNTS).accounts
    assert accounts.company_field == "societe"
    assert [(s.name, s.members, s.of, s.top, s.thresholds) for s in accounts.scores.values()] == [
        ("potential", "top", "engagement", 2, (30.0, 60.0)),
        ("health", None, None, 0, ()),
    ]
    assert [(r.id, r.score, r.points, r.within) for r in accounts.rules] == [
        ("big", "potential", 20.0, 0.0),
        ("usage", "health", 1.0, 30 * 86400.0),
    ]
    assert accounts.renewal_days == 60 and accounts.upsell is not None and accounts.cross_sell is None
    assert accounts.primary_score == "potential" and accounts.declared
    assert accounts.stages == ("renewal_due", "upsell", "at_risk")
    # Usage is compared over two windows, and the rule looks back 30 days: 30 days of history are read.
    assert accounts.history == 30 * 86400.0


def test_a_programme_without_the_section_has_no_accounts_to_compute() -> None:
    programme = load_programme(SEED_GRID)
    assert programme.accounts is NO_ACCOUNTS and not programme.accounts.declared and programme.accounts.stages == ()


@pytest.mark.parametrize(
    ("section", "where"),
    [
        ('[accounts]\ncolour = "red"', "accounts.colour"),
        ('[accounts.scores.p]\nmembers = "median"', "accounts.scores.p.members"),
        ('[accounts.scores.p]\nmembers = "top 0"', "accounts.scores.p.members"),
        ('[accounts.scores.p]\nmembers = "sum"\nof = "fit"', "accounts.scores.p.of"),
        ('[accounts.scores.p]\nof = "engagement"', "accounts.scores.p.of"),
        ('[accounts.scores.p]\nthresholds = "high"', "accounts.scores.p.thresholds"),
        ('[[accounts.rules]]\nscore = "p"', "accounts.rules[0]"),
        ('[accounts.scores.p]\n[[accounts.rules]]\nid = "r"\nscore = "q"\npoints = 1', "accounts.rules[r].score"),
        ('[accounts.scores.p]\n[[accounts.rules]]\nid = "r"\nscore = "p"\npoints = 1', "accounts.rules[r]"),
        (
            '[accounts.scores.p]\n[[accounts.rules]]\nid = "r"\nscore = "p"\npoints = 1\nevent = { type = "x" }',
            "accounts.rules[r].within",
        ),
        (
            '[accounts.scores.p]\n[[accounts.rules]]\nid = "r"\nscore = "p"\npoints = "lots"\ntrait = { plan = "pro" }',
            "accounts.rules[r].points",
        ),
        ("[accounts.stages]\nchurned = {}", "accounts.stages.churned"),
        ("[accounts.stages]\nrenewal_due = { days = 0 }", "accounts.stages.renewal_due.days"),
        ('[accounts.stages]\nupsell = { score = "nope", min = 3 }', "accounts.stages.upsell.score"),
        ('[accounts.stages]\nat_risk = { window = "7d", drop = 50 }', "accounts.stages.at_risk.usage"),
        (
            '[accounts.stages]\nat_risk = { usage = { type = "x" }, window = "7d", drop = 150 }',
            "accounts.stages.at_risk.drop",
        ),
        (
            '[accounts.stages]\nat_risk = { usage = { type = "x" }, window = "soon", drop = 50 }',
            "accounts.stages.at_risk.window",
        ),
    ],
)
def test_every_mistake_names_its_key(section: str, where: str) -> None:
    with pytest.raises(ProgrammeError) as caught:
        load_programme(GRID + section)
    assert caught.value.where == where
