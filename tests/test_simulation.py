"""domain.simulation: a seeded history of people, devices, bots and sales, with the truth it was drawn from."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace

from tracker.domain.planted import DEMO_PLAN, Behaviour, Plan
from tracker.domain.simulation import NAMED, Hit, Sale, generate

from .conftest import START

DAY = 86400.0
# White paper C triples the chance to buy, nothing else matters: its lift is the ratio of rates.
TRIPLE_C = Plan(base=0.1, behaviours=(Behaviour("wp-c", "download", "*/livre-blanc-c*", lift=3.0),), window=(1, 3))


def ratio_holds(planted: float, won_did: int, did: int, won_not: int, did_not: int) -> bool:
    """Whether the observed ratio of rates is within 3 standard errors (of its log) of ``planted``."""
    rate_did, rate_not = won_did / did, won_not / did_not
    error = math.sqrt((1 - rate_did) / won_did + (1 - rate_not) / won_not)
    return abs(math.log(rate_did / rate_not) - math.log(planted)) <= 3 * error


def test_the_same_seed_and_now_give_the_same_history() -> None:
    first = generate(START, DEMO_PLAN, people=400, days=40, seed=5)
    assert first == generate(START, DEMO_PLAN, people=400, days=40, seed=5)
    assert first.items != generate(START, DEMO_PLAN, people=400, days=40, seed=6).items
    assert first.items != generate(START + DAY, DEMO_PLAN, people=400, days=40, seed=5).items
    times = [item.ts for item in first.items]
    assert times == sorted(times) and times[0] > START - 41 * DAY and times[-1] < START
    assert first.truth.people == 400 and first.truth.requests == sum(isinstance(i, Hit) for i in first.items)
    assert first.truth.outcomes == sum(isinstance(item, Sale) for item in first.items)


def test_people_identify_use_several_devices_and_bots_come_every_day() -> None:
    simulation = generate(START, DEMO_PLAN, people=400, days=40, seed=5)
    devices = defaultdict(set)
    for item in simulation.items:
        if isinstance(item, Hit):
            who, kind = item.device.split(":")
            devices[who].add(kind)
    assert sum(kinds == {"desktop", "mobile"} for kinds in devices.values()) >= 10  # phones besides desktops
    assert 100 < len(simulation.truth.leads) < 300  # many identify, not everybody
    assert {who for who in devices if who.startswith("scraper")} == {"scraper0"}
    crawled = {int(request.ts // DAY) for request in simulation.ignored if request.agent is not None}
    assert crawled == {int(START // DAY) - back for back in range(40)}  # every UTC day
    assert any(request.agent is None for request in simulation.ignored)  # and the team's own visits
    late = generate(START + 60, DEMO_PLAN, people=10, days=2, seed=5).ignored  # a minute past midnight
    assert {int(request.ts // DAY) for request in late} == {int(START // DAY), int(START // DAY) - 1}


def test_sales_record_what_the_plan_decided_after_the_last_visit() -> None:
    simulation = generate(START, DEMO_PLAN, people=600, days=60, seed=2)
    truth = simulation.truth
    recorded = defaultdict(list)
    for item in simulation.items:
        if isinstance(item, Sale):
            recorded[item.email].append(item.outcome)
    leads = {lead.email: lead for lead in truth.leads}
    assert len(leads) == len(truth.leads) and not {persona.email for persona, _, _ in NAMED} & leads.keys()
    assert {lead.buys for lead in leads.values()} == {True, False}
    for email, outcomes in recorded.items():
        lead = leads[email]
        kinds = [outcome.kind for outcome in outcomes]
        if lead.buys:
            assert kinds == ["contacted", "meeting", "won"][: len(kinds)]
            assert kinds[-1] != "won" or (outcomes[-1].value == lead.value and (lead.value or 0) >= 290)
        else:
            assert kinds == ["contacted", "lost"][: len(kinds)]
            assert kinds[-1] != "lost" or outcomes[-1].reason in DEMO_PLAN.reasons
    sales = [item for item in simulation.items if isinstance(item, Sale)]
    assert all(leads[sale.email].last_seen < sale.ts < START for sale in sales)
    assert sum(truth.won(lead) for lead in truth.leads) == sum(sale.outcome.kind == "won" for sale in sales)


def test_a_behaviour_planted_to_triple_the_chance_triples_conversion() -> None:
    truth = generate(START, TRIPLE_C, people=6000, days=60, seed=1).truth
    won_did, did = truth.rate("wp-c", did=True)
    won_not, did_not = truth.rate("wp-c", did=False)
    assert did > 300 and did_not > 1000  # C is taken on several journeys
    assert ratio_holds(3.0, won_did, did, won_not, did_not)
    assert not ratio_holds(1.0, won_did, did, won_not, did_not)  # the test can tell an effect from none


def test_a_threshold_planted_at_20_makes_conversion_jump_there() -> None:
    points_only = tuple(replace(behaviour, lift=1.0) for behaviour in DEMO_PLAN.behaviours)
    truth = generate(START, Plan(base=0.05, behaviours=points_only, threshold=20, jump=4.0), people=6000, days=60).truth
    above = [truth.won(lead) for lead in truth.leads if lead.score >= 20]
    below = [truth.won(lead) for lead in truth.leads if lead.score < 20]
    assert ratio_holds(4.0, sum(above), len(above), sum(below), len(below))
    assert not ratio_holds(1.0, sum(above), len(above), sum(below), len(below))
    just_below = [lead.chance for lead in truth.leads if 15 <= lead.score < 20]
    assert just_below and set(just_below) == {0.05}  # a jump at 20, not a slope
