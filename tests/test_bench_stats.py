"""The benchmark's pure helpers: CPU per request, ratios to the floor, percentiles, traffic layout."""

from __future__ import annotations

import itertools
import math

import orjson

from bench.servers import cpu_delta
from bench.stats import (
    cpu_us_per_request,
    offered_times,
    per_cpu_ratio,
    percentiles,
    round_ratios,
    summarize_rounds,
)
from bench.traffic import SEQ
from bench.visitors import PAGES, events_per_request, mixed, new_visitor_bodies, returning, returning_bodies


def test_cpu_per_request_is_microseconds_of_cpu_per_request() -> None:
    assert cpu_us_per_request(0.5, 1000) == 500.0
    assert cpu_us_per_request(0.5, 0) == math.inf


def test_per_cpu_ratio_is_the_floor_cost_over_the_case_cost() -> None:
    # (req/s ÷ CPU) ÷ (floor req/s ÷ floor CPU): 1000 req/s on 0.9 s CPU against 8000 req/s on 0.9 s CPU.
    case_us, floor_us = cpu_us_per_request(0.9, 1000), cpu_us_per_request(0.9, 8000)
    assert per_cpu_ratio(case_us, floor_us) == (1000 / 0.9) / (8000 / 0.9)
    assert per_cpu_ratio(math.inf, floor_us) == 0.0


def test_round_ratio_counts_database_cpu_only_when_asked() -> None:
    floor = {"rps": 8000.0, "server_us_per_req": 100.0}
    case = {"rps": 1000.0, "server_us_per_req": 250.0, "database_us_per_req": 250.0}
    assert round_ratios(floor, case, with_database=False) == {"rps": 0.125, "per_cpu": 0.4}
    assert round_ratios(floor, case, with_database=True) == {"rps": 0.125, "per_cpu": 0.2}


def test_rounds_are_summarised_by_their_median() -> None:
    summary = summarize_rounds([{"per_cpu": 0.3}, {"per_cpu": 0.1}, {"per_cpu": 0.35}])
    assert summary["per_cpu"] == 0.3
    assert [r["per_cpu"] for r in summary["rounds"]] == [0.3, 0.1, 0.35]


def test_percentiles_are_nearest_rank() -> None:
    found = percentiles([float(n) for n in range(1, 1001)])
    assert (found["p50"], found["p99"], found["p999"], found["max"]) == (500.0, 990.0, 999.0, 1000.0)
    assert percentiles([]) == {}


def test_open_loop_schedule_does_not_depend_on_answers() -> None:
    assert offered_times(4.0, 1.0, start=10.0) == [10.0, 10.25, 10.5, 10.75]


def test_a_process_gone_between_snapshots_does_not_make_cpu_negative() -> None:
    assert cpu_delta({1: 5.0, 2: 100.0}, {1: 6.5, 3: 0.5}) == 2.0


def test_a_visitors_requests_are_a_whole_round_apart() -> None:
    visitors = returning(30)
    tokens = [f"token-{v.number}" for v in visitors]
    bodies = returning_bodies(visitors, tokens, 1_700_000_000_000)
    assert len(bodies) == 30 * PAGES
    seen: dict[str, int] = {}
    for index, body in enumerate(bodies * 2):  # wrk wraps around the list
        token = orjson.loads(body)["vid"]
        if token in seen:
            assert index - seen[token] == 30
        seen[token] = index
    assert all(v.history for v in visitors)
    assert len({len(v.history) for v in visitors}) > 1  # visitors are primed into different states


def test_past_visits_are_back_dated_in_order_within_a_week() -> None:
    for visitor in returning(200):
        assert len(visitor.ago) == len(visitor.history)
        assert all(a > b for a, b in itertools.pairwise(visitor.ago))
        # The last past visit ended hours ago (a new session now), the first is within tracker's week.
        assert visitor.ago[-1] > 3600 and visitor.ago[0] < 7 * 86400


def test_mixed_traffic_spreads_new_visitors_evenly() -> None:
    back = [b"r"] * 300
    new = [b"n"] * 50
    out = mixed(back, new, 0.25)
    assert out.count(b"n") == 100
    assert out[:4] == [b"r", b"r", b"r", b"n"]


def test_new_visitors_carry_no_token_and_distinct_form_emails() -> None:
    bodies = new_visitor_bodies(2000, 1_700_000_000_000)
    assert all("vid" not in orjson.loads(body) for body in bodies)
    forms = [b for b in bodies if b'"type":"form"' in b]
    assert forms and all(SEQ.encode() in b for b in forms)
    assert 1.0 < events_per_request(bodies) < 2.0
