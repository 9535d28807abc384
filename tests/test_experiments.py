from __future__ import annotations

from typing import Any

import pytest

from tracker.domain.decisions import Campaign, compile_campaigns
from tracker.domain.experiments import BUCKETS, CONTROL, ORIGINAL, Experiment, assign, bucket_of
from tracker.domain.facts import Decision
from tracker.domain.programme.checks import ProgrammeError

SCORES = ("engagement",)
DAY = 86400.0


def compile_one(**experiment: Any) -> Campaign:
    raw = {
        "id": "offer",
        "kind": "popup",
        "title": "Bonjour",
        "text": "Un expert vous rappelle.",
        "experiment": experiment,
    }
    (campaign,) = compile_campaigns([raw], SCORES)
    return campaign


def experiment_of(**spec: Any) -> Experiment:
    experiment = compile_one(**spec).experiment
    assert experiment is not None
    return experiment


def error_of(**spec: Any) -> ProgrammeError:
    with pytest.raises(ProgrammeError) as info:
        compile_one(**spec)
    return info.value


B = {"id": "b", "share": 30, "title": "Un projet d'impression 3D ?"}
C = {"id": "c", "share": 30, "text": "Rappel gratuit sous 24 h.", "cta": {"label": "Rappelez-moi", "url": "/contact"}}


def test_arms_take_their_shares_and_the_original_the_rest() -> None:
    experiment = experiment_of(control=10, variants=[B, C])
    assert [(arm.name, arm.share) for arm in experiment.arms] == [
        (CONTROL, 10),
        ("b", 30),
        ("c", 30),
        (ORIGINAL, 30),
    ]
    arms = {arm.name: arm for arm in experiment.arms}
    assert arms[CONTROL].content is None
    assert arms["b"].content == {"title": "Un projet d'impression 3D ?", "text": "Un expert vous rappelle."}
    assert arms["c"].content["cta"] == {"label": "Rappelez-moi", "url": "/contact"}
    assert arms[ORIGINAL].content == {"title": "Bonjour", "text": "Un expert vous rappelle."}
    assert experiment.window == 14 * DAY and experiment.goals == {"conversion"}


def test_shares_of_a_seeded_population_are_within_two_points_of_the_configured_ones() -> None:
    experiment = experiment_of(control=15, variants=[{**B, "share": 25}, {**C, "share": 40}], salt="2026-11")
    people = range(1, 20_001)
    counts: dict[str, int] = {}
    for person in people:
        name = experiment.arm_of("offer", person).name
        counts[name] = counts.get(name, 0) + 1
    for arm in experiment.arms:
        assert abs(100 * counts[arm.name] / len(people) - arm.share) < 2, (arm.name, counts)


def test_assignment_is_sticky_and_each_campaign_and_salt_splits_differently() -> None:
    experiment = experiment_of(control=50, variants=[{**B, "share": 50}])
    first = [experiment.arm_of("offer", person).name for person in range(1, 1001)]
    assert first == [experiment.arm_of("offer", person).name for person in range(1, 1001)]
    other_campaign = [experiment.arm_of("other", person).name for person in range(1, 1001)]
    resalted = experiment_of(control=50, variants=[{**B, "share": 50}], salt="again")
    other_salt = [resalted.arm_of("offer", person).name for person in range(1, 1001)]
    # Independent splits agree about half the time, never (nearly) always.
    assert 400 < sum(a == b for a, b in zip(first, other_campaign, strict=True)) < 600
    assert 400 < sum(a == b for a, b in zip(first, other_salt, strict=True)) < 600
    assert all(0 <= bucket_of("", "offer", person) < BUCKETS for person in range(1000))


def test_full_shares_leave_no_original() -> None:
    experiment = experiment_of(control=40, variants=[{**B, "share": 60}])
    assert [arm.name for arm in experiment.arms] == [CONTROL, "b"]
    assert experiment.arms[-1].upper == BUCKETS


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ({"control": 50, "variants": [B, C]}, "campaigns[offer].experiment.variants[c].share"),
        ({"control": 101}, "campaigns[offer].experiment.control"),
        ({"control": -1}, "campaigns[offer].experiment.control"),
        ({"control": True}, "campaigns[offer].experiment.control"),
        ({"control": 10.005}, "campaigns[offer].experiment.control"),
        ({}, "campaigns[offer].experiment.variants"),
        ({"control": 0}, "campaigns[offer].experiment.variants"),
        ({"variants": [{**B, "share": 0}]}, "campaigns[offer].experiment.variants[b].share"),
        ({"variants": [{"id": "b", "share": 10}]}, "campaigns[offer].experiment.variants[b]"),
        ({"variants": [{**B, "id": CONTROL}]}, "campaigns[offer].experiment.variants[0].id"),
        ({"variants": [{**B, "id": ORIGINAL}]}, "campaigns[offer].experiment.variants[0].id"),
        ({"variants": [{**B, "id": "a b"}]}, "campaigns[offer].experiment.variants[0].id"),
        ({"variants": [B, B]}, "campaigns[offer].experiment.variants[b].id"),
        ({"variants": [{**B, "slot": "x"}]}, "campaigns[offer].experiment.variants[b].slot"),
        ({"variants": [{**B, "title": ""}]}, "campaigns[offer].experiment.variants[b].title"),
        (
            {"variants": [{**B, "cta": {"label": "x", "url": "javascript:alert(1)"}}]},
            "campaigns[offer].experiment.variants[b].cta.url",
        ),
        ({"control": 10, "window": "soon"}, "campaigns[offer].experiment.window"),
        ({"control": 10, "goal": "sale"}, "campaigns[offer].experiment.goal"),
        ({"control": 10, "goal": []}, "campaigns[offer].experiment.goal"),
        ({"control": 10, "salt": 3}, "campaigns[offer].experiment.salt"),
        ({"control": 10, "color": "red"}, "campaigns[offer].experiment.color"),
    ],
)
def test_a_wrong_experiment_names_the_key(spec: dict[str, Any], where: str) -> None:
    assert error_of(**spec).where == where


def test_an_experiment_must_be_a_table() -> None:
    with pytest.raises(ProgrammeError) as info:
        compile_campaigns([{"id": "offer", "kind": "popup", "title": "x", "experiment": 10}], SCORES)
    assert info.value.where == "campaigns[offer].experiment"


def test_window_and_goals_are_configurable() -> None:
    experiment = experiment_of(control=10, window="30d", goal=["conversion", "won"])
    assert experiment.window == 30 * DAY and experiment.goals == {"conversion", "won"}


def decision(campaign: str) -> Decision:
    return Decision(
        campaign=campaign, kind="popup", content={"title": "Bonjour"}, trigger={"on": "immediate"}, priority=0
    )


def test_assign_serves_each_arm_its_copy_and_holds_control_out() -> None:
    campaign = compile_one(control=50, variants=[{**B, "share": 50}])
    assert campaign.experiment is not None
    experiments = {"offer": campaign.experiment}
    seen: dict[str, int] = {}
    for person in range(1, 200):
        shown, exposures = assign([decision("offer"), decision("plain")], experiments, person)
        (exposure,) = exposures
        seen[exposure.arm] = seen.get(exposure.arm, 0) + 1
        # The campaign outside any experiment is always shown, without a variant.
        assert shown[-1] == decision("plain")
        if exposure.held_out:
            assert [d.campaign for d in shown] == ["plain"]
        else:
            assert shown[0].variant == "b" and shown[0].content["title"] == B["title"]
            assert shown[0].to_json()["variant"] == "b"
    assert set(seen) == {CONTROL, "b"}
    assert "variant" not in decision("plain").to_json()
