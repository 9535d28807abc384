"""Which leads a filter admits once the store has narrowed them (tracker.domain.lead_filter)."""

from __future__ import annotations

from tracker.domain.facts import ScoreState
from tracker.domain.lead_filter import LeadFilter
from tracker.domain.people import PersonRecord


def person(email: str | None, company: object = None) -> PersonRecord:
    profile = {"company": company} if company is not None else {}
    return PersonRecord(1, 1, email, None, "known", profile, ScoreState(), {}, 0.0, 0.0, 0.0, 0.0)


def test_the_score_range_is_judged_on_the_decayed_value() -> None:
    wanted = LeadFilter(("known",), "engagement", min_score=5, max_score=12)
    assert [wanted.admits(person("a@x.fr"), value) for value in (4.99, 5, 12, 12.01)] == [False, True, True, False]


def test_the_search_finds_part_of_the_email_or_company_in_any_case() -> None:
    wanted = LeadFilter(("known",), "engagement", search="ÉLODIE")
    assert wanted.admits(person("elodie@x.fr", "Élodie SARL"), 0)
    assert not wanted.admits(person("elodie@x.fr"), 0)  # "é" is not "e"
    assert LeadFilter(("known",), "engagement", search="ATELIER").admits(person(None, "L'Atelier"), 0)
    assert not LeadFilter(("known",), "engagement", search="x").admits(person(None, ["x"]), 0)
