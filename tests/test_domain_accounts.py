"""Accounts, pure (domain/accounts.py): who belongs where, free-mail domains, aggregates, stages, crossings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tracker.domain.accounts import (
    account_scores,
    account_stages,
    business_domain,
    claim_of,
    crossings,
    moves,
    owner_of,
    renewal_at,
)
from tracker.domain.facts import Event
from tracker.domain.programme.load import load_programme

from .conftest import START
from .test_programme_accounts import ACCOUNTS, GRID

DAY = 86400.0
PROGRAMME = load_programme(GRID + ACCOUNTS).accounts


@pytest.mark.parametrize(
    "email",
    [
        "jean@gmail.com",
        "jean@orange.fr",
        "jean@hotmail.fr",
        "jean@free.fr",
        "jean@yahoo.fr",
        "jean@yahoo.com",
        "jean@outlook.fr",
        "jean@outlook.com",
        "jean@icloud.com",
        "jean@laposte.net",
        "jean@wanadoo.fr",
        "jean@mail.yahoo.fr",
    ],
)
def test_free_mail_domains_name_no_company(email: str) -> None:
    assert business_domain(email) is None
    assert claim_of(Event(1, "identify", START), email, "company") is None


def test_a_business_domain_names_the_company() -> None:
    assert business_domain("marc@atelier-marc.fr") == "atelier-marc.fr"
    claim = claim_of(Event(1, "identify", START), "marc@atelier-marc.fr", "company")
    assert claim is not None and (claim.key, claim.name, claim.source) == (
        "domain:atelier-marc.fr",
        "atelier-marc.fr",
        "domain",
    )


def test_a_form_names_the_company_by_its_field_when_the_email_is_free_mail() -> None:
    form = Event(1, "form", START, props={"email": "jean@gmail.com", "company": "  Imprimerie   Dupont "})
    claim = claim_of(form, "jean@gmail.com", "company")
    assert claim is not None and (claim.key, claim.name, claim.source) == (
        "company:imprimerie dupont",
        "Imprimerie Dupont",
        "company",
    )
    # With a business e-mail, the domain names the account, never what one member typed.
    claim = claim_of(form, "jean@dupont.fr", "company")
    assert claim is not None and (claim.key, claim.name) == ("domain:dupont.fr", "dupont.fr")
    # A page view says nothing about the company.
    assert claim_of(Event(1, "page", START), "jean@dupont.fr", "company") is None


def test_a_group_call_names_the_account_with_its_traits_and_any_call_may_carry_a_group() -> None:
    group = Event(1, "custom", START, name="group", props={"group_id": "acme-1", "name": "ACME", "plan": "pro"})
    claim = claim_of(group, "jean@gmail.com", "company")
    assert claim is not None
    assert (claim.key, claim.name, claim.source, dict(claim.traits)) == (
        "group:acme-1",
        "ACME",
        "group",
        {"name": "ACME", "plan": "pro"},
    )
    usage = Event(2, "custom", START, name="report run", props={"group_id": "acme-1", "plan": "free"})
    claim = claim_of(usage, None, "company")
    assert claim is not None and (claim.key, claim.name, dict(claim.traits)) == ("group:acme-1", "acme-1", {})


def test_only_a_group_call_moves_someone_already_in_an_account() -> None:
    group = claim_of(Event(1, "custom", START, name="group", props={"group_id": "g"}), None, "company")
    domain = claim_of(Event(1, "identify", START), "a@b.fr", "company")
    assert group is not None and domain is not None
    assert moves(None, domain) and moves("domain", group) and moves("group", group)
    assert not moves("group", domain) and not moves("company", domain)


def test_owner_is_a_name_routes_could_use() -> None:
    assert owner_of({"owner": "chloe"}) == "chloe"
    assert owner_of({"owner": "<script>"}) is None and owner_of({"owner": 3}) is None and owner_of({}) is None


def test_aggregates_sum_max_and_top_n_of_members_scores() -> None:
    members = [{"engagement": 10.0}, {"engagement": 25.0}, {"engagement": 40.0}, {}]
    assert account_scores(PROGRAMME, members, {}, [], START) == {"potential": 65.0, "health": 0.0}
    for aggregate, expected in (("sum", 75.0), ("max", 40.0), ("top 1", 40.0)):
        programme = load_programme(
            GRID + f'[accounts.scores.potential]\nmembers = "{aggregate}"\nof = "engagement"'
        ).accounts
        assert account_scores(programme, members, {}, [], START) == {"potential": expected}
    assert account_scores(PROGRAMME, [], {}, [], START) == {"potential": 0.0, "health": 0.0}


def test_rules_on_traits_and_on_members_events_within_their_window() -> None:
    usage = [Event(i, "custom", START - i * 10 * DAY, name="report run") for i in range(5)]  # 0, 10, … 40 days ago
    scores = account_scores(PROGRAMME, [{"engagement": 5.0}], {"size": 800}, usage, START)
    assert scores == {"potential": 25.0, "health": 4.0}  # 5 + 20 (big); the usage of the last 30 days
    assert account_scores(PROGRAMME, [], {"size": "12"}, [], START)["potential"] == 0.0


def test_renewal_due_enters_when_the_renewal_date_comes_within_the_window() -> None:
    traits = {"renewal_date": "2026-03-15"}
    renewal = datetime(2026, 3, 15, tzinfo=UTC).timestamp()
    assert renewal_at(traits) == renewal
    assert account_stages(PROGRAMME, {}, traits, [], renewal - 61 * DAY) == []
    assert account_stages(PROGRAMME, {}, traits, [], renewal - 60 * DAY) == ["renewal_due"]
    assert account_stages(PROGRAMME, {}, traits, [], renewal) == ["renewal_due"]
    assert account_stages(PROGRAMME, {}, traits, [], renewal + 1) == []  # renewed, or lost: no longer due
    assert account_stages(PROGRAMME, {}, {"renewal_date": "soon"}, [], START) == []


def test_upsell_and_at_risk_from_their_thresholds() -> None:
    assert account_stages(PROGRAMME, {"potential": 80.0}, {}, [], START) == ["upsell"]
    assert account_stages(PROGRAMME, {"potential": 79.9}, {}, [], START) == []

    def usage(*days_ago: float) -> list[Event]:
        return [Event(i, "custom", START - d * DAY, name="report run") for i, d in enumerate(days_ago)]

    # Four uses in the window before, two in the last 14 days: down 50 %.
    assert account_stages(PROGRAMME, {}, {}, usage(15, 16, 20, 27, 1, 2), START) == ["at_risk"]
    assert account_stages(PROGRAMME, {}, {}, usage(15, 16, 20, 27, 1, 2, 3), START) == []
    # No usage before: nothing dropped.
    assert account_stages(PROGRAMME, {}, {}, usage(1), START) == []


def test_crossings_are_thresholds_reached_from_below() -> None:
    assert crossings(PROGRAMME, {"potential": 10.0}, {"potential": 65.0}) == [("potential", 30.0), ("potential", 60.0)]
    assert crossings(PROGRAMME, {"potential": 30.0}, {"potential": 59.0}) == []
    assert crossings(PROGRAMME, {"potential": 65.0}, {"potential": 10.0}) == []
