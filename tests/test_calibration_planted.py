"""Calibration finds what was planted (issue 14's acceptance): a seeded simulated history
(tracker.services.simulate) written through the ingest pipeline into SQLite and PostgreSQL, read
back through the reports API (tracker.web.calibration): a behaviour planted to triple the chance
to buy shows a lift of about 3 whose 95 % interval holds 3 and not 1, a jump planted at a true
score of 20 is the threshold suggested (within 2 points), and both backends give identical reports.

Three choices make the report's input the planted truth by construction, not by a lucky draw:
sales decide within the hour after a lead's last visit and the simulator ends every journey at
least an hour before ``now``, so every fate is recorded by the period's end (checked); the
history spans the seed programme's 30 days before decay, so no score has decayed when the report
reads it; and the threshold plan's true points are the programme's own, so the score the report
reads is the true score.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from tracker.app import DEMO_SITE
from tracker.domain.calibration.bands import bands
from tracker.domain.calibration.threshold import best_threshold
from tracker.domain.planted import DEMO_PLAN, Plan, Truth, did_and_score
from tracker.domain.simulation import NAMED
from tracker.services.simulate import simulate

from .conftest import BACKENDS, START, Clock, backend, running_server
from .test_simulation import TRIPLE_C

DAY = 86400.0
# The seed programme's engagement decays after 30 days without change: a history of 30 days never decays.
DAYS = 30
PEOPLE = 300  # about 135 leads: enough for the planted effects, see each test
SEED = 1
PERIOD: dict[str, Any] = {"since": START - DAYS * DAY, "until": START}
REPORTS = ("conversion", "behaviours", "distribution")
WITHIN_THE_HOUR = (0.0, 1 / 24)  # days from a lead's last visit to the sale or the loss
# White paper C triples the chance to buy, from a quarter (a chance of 0.75 stays under 1).
TRIPLE_C_SOON = replace(TRIPLE_C, base=0.25, window=WITHIN_THE_HOUR)
# The chance to buy depends on the true score alone, the seed programme's engagement: 0.05 below
# 20, certain from 20 up.
STEP_AT_20 = Plan(
    base=0.05,
    behaviours=tuple(replace(behaviour, lift=1.0) for behaviour in DEMO_PLAN.behaviours),
    threshold=20,
    jump=20.0,
    window=WITHIN_THE_HOUR,
)


async def planted_reports(tmp_path: Path, plan: Plan) -> tuple[Truth, dict[str, Any]]:
    """``plan``'s history written into each backend in turn; its three reports of the history's
    days, identical on both backends; and the truth, every fate recorded by the period's end."""
    found: list[dict[str, Any]] = []
    for name in BACKENDS:
        async with backend(name) as url, running_server(tmp_path / name, Clock(START), url) as server:
            site = server.runtime.sites.get(DEMO_SITE)
            assert site is not None
            truth = await simulate(server.runtime.store, site, plan, now=START, seed=SEED, people=PEOPLE, days=DAYS)
            found.append(
                {kind: await server.api(f"/api/reports/{kind}", role="marketing", **PERIOD) for kind in REPORTS}
            )
    sqlite, postgresql = found
    assert sqlite == postgresql
    assert all(truth.won(lead) == lead.buys for lead in truth.leads)
    return truth, sqlite


def scripted(plan: Plan) -> list[tuple[tuple[str, ...], float]]:
    """What Marc, Élodie and Capucine did of ``plan`` and their true scores: leads of the site the
    truth leaves out, who never buy.  Their journeys are scripted: the draw changes no step."""
    journeys = [journey(persona, random.Random(0)) for persona, journey, _ in NAMED]
    steps = [[step for visit in visits for request in visit.requests for step in request] for visits in journeys]
    return [did_and_score(plan, taken) for taken in steps]


async def test_a_behaviour_planted_to_triple_conversion_shows_a_lift_of_3(tmp_path: Path) -> None:
    truth, found = await planted_reports(tmp_path, TRIPLE_C_SOON)
    leads = [("wp-c" in lead.did, truth.won(lead)) for lead in truth.leads]
    leads += [("wp-c" in did, False) for did, _ in scripted(TRIPLE_C_SOON)]
    report = found["behaviours"]
    assert (report["leads"], report["converted"]) == (len(leads), sum(won for _, won in leads))
    # The report counts exactly who was planted to do it, as its rule and as its download.
    did = [won for did, won in leads if did]
    behaviours = {(b["kind"], b["key"]): b for b in report["behaviours"]}
    rule, download = behaviours["rule", "wp-c"], behaviours["download", "/demo/files/livre-blanc-c.pdf"]
    for behaviour in (rule, download):
        assert (behaviour["converters"], behaviour["others"]) == (sum(did), len(did) - sum(did))
    # 25 leads took C (18 bought): the 95 % interval spans about ×1.5 either way, clear of 1.
    # Over seeds 0-99 it holds 3 and not 1 for 95 of them, as a 95 % interval should.
    lift = rule["lift"]
    assert lift == download["lift"]
    assert lift["low"] <= 3 <= lift["high"] and lift["low"] > 1
    assert 2 <= lift["estimate"] <= 4.5


async def test_a_threshold_planted_at_20_is_suggested_within_2_points(tmp_path: Path) -> None:
    truth, found = await planted_reports(tmp_path, STEP_AT_20)
    assert all(truth.won(lead) for lead in truth.leads if lead.score >= 20)
    pairs = [(lead.score, truth.won(lead)) for lead in truth.leads]
    pairs += [(score, False) for _, score in scripted(STEP_AT_20)]
    report = found["conversion"]
    # The report reads each lead's true score (bands of 2 points, and the best cut at each score).
    assert [(b["low"], b["high"], b["leads"], b["converted"]) for b in report["bands"]] == [
        (b.low, b.high, b.leads, b.converted) for b in bands(pairs, report["width"])
    ]
    best, criterion = report["threshold"]["best"], report["threshold"]["criterion"]
    expected = best_threshold(pairs, criterion, report["threshold"]["min_volume"])
    assert expected is not None and (best["threshold"], best["leads"], best["converted"]) == (
        expected.threshold,
        expected.leads,
        expected.converted,
    )
    # By construction F1's best is the lowest score from 20 up that some lead has: everybody from
    # there up bought, so a higher threshold only loses recall; a lower one adds the leads just
    # below 20, who buy at 5 %, and F1 only gains from leads buying at over half its value (~0.9).
    # Over seeds 0-99 the suggestion is 20, 21 or 22 every time.
    assert criterion == "f1" and 18 <= best["threshold"] <= 22 and best["precision"] == 1.0
