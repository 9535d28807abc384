"""A site's scoring programme: the marketers' TOML, compiled once.

The programme holds the scoring grid (tokens, scores, rules, see ``scoring``), the
campaigns (see ``decisions``) and the lead routes (see ``routing``).  Loading is all-or-nothing: any problem raises a
``ProgrammeError`` that names the rule or campaign and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from tracker.domain.decisions import Campaign, compile_campaigns
from tracker.domain.experiments import Experiment
from tracker.domain.programme.accounts import NO_ACCOUNTS, AccountsProgramme, compile_accounts
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.email import compile_email
from tracker.domain.programme.goals import Goals, compile_goals
from tracker.domain.programme.grade import Grade, compile_grade
from tracker.domain.programme.sales_holdout import SalesHoldout, compile_sales_holdout
from tracker.domain.routing import Route, compile_routes
from tracker.domain.scoring import Scoring, compile_scoring

_TOP_LEVEL_KEYS = frozenset(
    {"tokens", "scores", "rules", "campaigns", "routes", "sales_holdout", "email", "goals", "grade", "accounts"}
)


@dataclass(frozen=True, slots=True)
class Programme:
    scoring: Scoring
    campaigns: tuple[Campaign, ...]
    source: str
    campaign_ids: frozenset[str]
    # Lead routing to sales queues and owners (see ``routing``).
    routes: tuple[Route, ...] = ()
    # The campaigns that run an experiment, by id (``experiments.assign`` looks them up per decision).
    experiments: Mapping[str, Experiment] = field(default_factory=lambda: MappingProxyType({}))
    # A share of new SQLs kept out of routing, to measure what sales adds (off: None).
    sales_holdout: SalesHoldout | None = None
    # Events that record an outcome (see ``goals``) and the combined grade, if declared (see ``grade``).
    goals: Goals = field(default_factory=Goals)
    grade: Grade | None = None
    # Customer accounts' scores and stages (see ``programme.accounts``).
    accounts: AccountsProgramme = NO_ACCOUNTS

    @property
    def primary_score(self) -> str | None:
        """The score sales sort by: the first with a sales threshold, else the first declared."""
        for name, score in self.scoring.scores.items():
            if score.sql is not None:
                return name
        return next(iter(self.scoring.scores), None)

    def grade_of(self, scores: Mapping[str, float]) -> str | None:
        """The combined grade of current scores, None when the programme declares none."""
        return self.grade.of(scores) if self.grade is not None else None

    def thresholds(self) -> dict[str, tuple[float | None, float | None]]:
        return {name: (s.mql, s.sql) for name, s in self.scoring.scores.items()}


def load_programme(source: str) -> Programme:
    try:
        doc: Mapping[str, Any] = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ProgrammeError("toml", str(exc)) from None
    unknown = sorted(set(doc) - _TOP_LEVEL_KEYS)
    if unknown:
        raise ProgrammeError(
            unknown[0], f"unknown top-level key (expected one of {', '.join(sorted(_TOP_LEVEL_KEYS))})"
        )
    scoring = replace(compile_scoring(doc), score_flagged=compile_email(doc.get("email")).score_flagged)
    grade = compile_grade(doc.get("grade"), scoring.scores.keys())
    campaigns = compile_campaigns(doc.get("campaigns", []), scoring.scores.keys(), grade)
    campaign_ids = frozenset(c.id for c in campaigns)
    return Programme(
        scoring=scoring,
        campaigns=campaigns,
        source=source,
        campaign_ids=campaign_ids,
        routes=compile_routes(doc.get("routes"), scoring, grade),
        experiments=MappingProxyType({c.id: c.experiment for c in campaigns if c.experiment is not None}),
        sales_holdout=compile_sales_holdout(doc.get("sales_holdout")),
        goals=compile_goals(doc.get("goals"), campaign_ids),
        grade=grade,
        accounts=compile_accounts(doc.get("accounts"), scoring),
    )
