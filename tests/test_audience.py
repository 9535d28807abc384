"""Who a campaign reaches on stored state: the person part of its targeting, with the decisions' own checks."""

from __future__ import annotations

import pytest

from tracker.domain.audience import Audience, state_targeting
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.targeting import PersonView

SCORES = ("engagement", "medical", "general")


def person(stage: str = "anonymous", **scores: float) -> PersonView:
    return PersonView(stage=stage, scores={name: scores.get(name, 0.0) for name in SCORES}, campaigns={})


def test_scores_stage_and_condition_are_judged_on_the_person() -> None:
    targeting = state_targeting(
        {"scores": {"engagement": ">= 12"}, "stage": ["mql", "sql"], "condition": "medical > general"}, SCORES
    )
    assert targeting.visit_keys == ()
    assert targeting.matches(person("sql", engagement=13, medical=3))
    assert not targeting.matches(person("known", engagement=13, medical=3))
    assert not targeting.matches(person("sql", engagement=11.9, medical=3))
    assert not targeting.matches(person("sql", engagement=13, medical=3, general=3))


def test_what_only_a_visit_tells_is_named_not_guessed() -> None:
    when = {"url": "/demo/*", "returning": True, "device": "mobile", "condition": "visits >= 2 and engagement > 1"}
    targeting = state_targeting({**when, "scores": {"engagement": "<= 7"}}, SCORES)
    assert targeting.visit_keys == ("url", "returning", "device", "condition")
    assert targeting.matches(person(engagement=5))
    assert not targeting.matches(person(engagement=8))


def test_no_targeting_is_everyone() -> None:
    assert state_targeting({}, SCORES).matches(person())


def test_bad_targeting_fails_like_the_compiler() -> None:
    with pytest.raises(ProgrammeError) as caught:
        state_targeting({"scores": {"engagment": ">= 1"}}, SCORES)
    assert caught.value.where == "when.scores.engagment"


def test_the_audience_counts_people_and_anonymous_and_keeps_a_few_examples() -> None:
    found = Audience()
    for person_id, email in enumerate(["a@x.fr", None, None, "b@x.fr"]):
        found.add(person_id, email, person("known" if email else "anonymous", engagement=person_id), keep=3)
    assert (found.people, found.anonymous) == (2, 2)
    assert [example.person_id for example in found.examples] == [0, 1, 2]
    assert found.examples[1].email is None and found.examples[2].scores["engagement"] == 2
