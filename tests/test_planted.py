"""domain.planted: what a lead's behaviours truly do to their chance to buy."""

from __future__ import annotations

import json

import pytest

from tracker.domain.journeys import Persona, download, form, page
from tracker.domain.planted import DEMO_PLAN, Behaviour, Lead, Plan, PlanError, Truth, chance, did_and_score

PERSON = Persona("Ana", "Lopez", "ana@example.test", "Acme", "Acheteuse")
QUALITY = "/demo/blog/qualite/certification-iso-13485"


def test_behaviours_found_and_the_true_score_they_add_up_to() -> None:
    steps = [page("/demo/"), download("livre-blanc-c"), download("livre-blanc-c"), page(QUALITY), page(QUALITY)]
    steps += [form("newsletter", PERSON), page("/demo/blog/qualite/")]  # the list is not an article
    # C counts once (12), quality articles each time (2 + 2), the newsletter is no demo request.
    assert did_and_score(DEMO_PLAN, steps) == (("wp-c", "quality-blog"), 16)
    assert did_and_score(DEMO_PLAN, [form("demo", PERSON)]) == (("demo-request",), 30)
    assert did_and_score(DEMO_PLAN, [page("/demo/")]) == ((), 0)


def test_the_chance_multiplies_lifts_jumps_past_the_threshold_and_stays_a_chance() -> None:
    plan = Plan(
        base=0.05,
        behaviours=(Behaviour("c", "download", lift=3.0), Behaviour("p", "page", lift=2.0)),
        threshold=20,
        jump=4.0,
    )
    assert chance(plan, (), 0) == 0.05
    assert chance(plan, ("c",), 19.9) == pytest.approx(0.15)
    assert chance(plan, ("p",), 20) == pytest.approx(0.05 * 2 * 4)
    assert chance(plan, ("c", "p"), 20) == 1.0  # 0.05 × 3 × 2 × 4 = 1.2, capped: a chance
    assert chance(Plan(base=0.05, threshold=None, jump=10), (), 1000) == 0.05  # no threshold planted


def test_the_truth_tells_who_was_won_by_now_and_reads_as_json() -> None:
    def lead(email: str, did: tuple[str, ...], buys: bool, decided_at: float) -> Lead:
        return Lead(email, did, 12.0, 0.3, buys, 0.0, 10.0, decided_at, 900.0 if buys else None)

    leads = (lead("a", ("wp-c",), True, 50), lead("b", ("wp-c",), True, 150), lead("c", (), False, 50))
    truth = Truth(DEMO_PLAN, seed=1, now=100.0, days=3, people=5, requests=9, events=9, outcomes=4, bots=1, leads=leads)
    assert [truth.won(one) for one in leads] == [True, False, False]  # b buys after now: not recorded yet
    assert truth.rate("wp-c", did=True) == (1, 2) and truth.rate("wp-c", did=False) == (0, 1)
    data = json.loads(json.dumps(truth.to_json()))
    assert data["counts"] == {"people": 5, "requests": 9, "events": 9, "outcomes": 4, "bots": 1, "leads": 3, "won": 1}
    assert data["plan"]["threshold"] == 20 and data["plan"]["behaviours"][2]["name"] == "wp-c"
    assert data["leads"][0]["did"] == ["wp-c"] and data["leads"][0]["value"] == 900.0


def test_a_plan_reads_back_from_its_json_and_a_wrong_key_is_named() -> None:
    assert Plan.from_json(json.loads(json.dumps(DEMO_PLAN.to_json()))) == DEMO_PLAN
    assert Plan.from_json({}) == Plan()
    plan = Plan.from_json({"base": 0.1, "behaviours": [{"name": "c", "type": "download", "lift": 3}], "threshold": 20})
    assert plan.behaviours == (Behaviour("c", "download", lift=3.0),) and plan.threshold == 20.0
    wrong = [
        ([], "plan"),
        ({"bsae": 0.1}, "bsae"),
        ({"base": 1.5}, "base"),
        ({"base": True}, "base"),
        ({"window": [30, 3]}, "window"),
        ({"window": [1]}, "window"),
        ({"reasons": []}, "reasons"),
        ({"behaviours": {}}, "behaviours"),
        ({"behaviours": [{"name": "c"}]}, "behaviours[0].type"),
        ({"behaviours": [{"name": "c", "type": "page", "lift": -1}]}, "behaviours[0].lift"),
        ({"behaviours": [{"name": "c", "type": "page", "once": "yes"}]}, "behaviours[0].once"),
        ({"behaviours": [{"name": "c", "type": "page", "url": "/x"}]}, "behaviours[0].url"),
        ({"threshold": float("nan")}, "threshold"),
    ]
    for data, key in wrong:
        with pytest.raises(PlanError) as caught:
            Plan.from_json(data)
        assert caught.value.key == key, data
