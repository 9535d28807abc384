"""A site's scoring programme: the marketers' TOML, compiled once.

The programme holds the scoring grid (tokens, scores, rules, see ``scoring``), the
campaigns (see ``decisions``) and the lead routes (see ``routing``).  Loading is all-or-nothing: any problem raises a
``ProgrammeError`` that names the rule or campaign and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker.domain.decisions import Campaign, compile_campaigns
from tracker.domain.programme.accounts import NO_ACCOUNTS, AccountsProgramme, compile_accounts
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.routing import Route, compile_routes
from tracker.domain.scoring import Scoring, compile_scoring

_TOP_LEVEL_KEYS = frozenset({"tokens", "scores", "rules", "campaigns", "routes", "accounts"})


@dataclass(frozen=True, slots=True)
class Programme:
    scoring: Scoring
    campaigns: tuple[Campaign, ...]
    source: str
    campaign_ids: frozenset[str]
    # Lead routing to sales queues and owners (see ``routing``).
    routes: tuple[Route, ...] = ()
    # Customer accounts' scores and stages (see ``programme.accounts``).
    accounts: AccountsProgramme = NO_ACCOUNTS

    @property
    def primary_score(self) -> str | None:
        """The score sales sort by: the first with a sales threshold, else the first declared."""
        for name, score in self.scoring.scores.items():
            if score.sql is not None:
                return name
        return next(iter(self.scoring.scores), None)

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
    scoring = compile_scoring(doc)
    campaigns = compile_campaigns(doc.get("campaigns", []), scoring.scores.keys())
    return Programme(
        scoring=scoring,
        campaigns=campaigns,
        source=source,
        campaign_ids=frozenset(c.id for c in campaigns),
        routes=compile_routes(doc.get("routes"), scoring),
        accounts=compile_accounts(doc.get("accounts"), scoring),
    )
