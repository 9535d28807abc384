"""Pure arithmetic of the suite: CPU per request, per-round ratios to the floor, percentiles.

Kept apart from the code that runs servers so it can be tested without one
(tests/test_bench_stats.py).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any


def cpu_us_per_request(cpu_seconds: float, requests: int) -> float:
    """CPU-µs one request cost: a process's utime+stime delta over the window ÷ requests."""
    return 1e6 * cpu_seconds / requests if requests else math.inf


def per_cpu_ratio(case_us: float, floor_us: float) -> float:
    """(req/s ÷ CPU) ÷ (floor req/s ÷ floor CPU), which is floor CPU-µs ÷ case CPU-µs per request.

    1.0: tracker does a request on as little CPU as the bare floor; 0.25: four times its CPU.
    """
    return floor_us / case_us if case_us > 0 and math.isfinite(case_us) else 0.0


def round_ratios(floor: Mapping[str, Any], case: Mapping[str, Any], *, with_database: bool) -> dict[str, float]:
    """One round's ratios: throughput, and per CPU-second (database CPU counted when asked)."""
    case_us = case["server_us_per_req"] + (case["database_us_per_req"] if with_database else 0.0)
    return {
        "rps": case["rps"] / floor["rps"] if floor["rps"] else 0.0,
        "per_cpu": per_cpu_ratio(case_us, floor["server_us_per_req"]),
    }


def summarize_rounds(rounds: Sequence[Mapping[str, float]]) -> dict[str, Any]:
    """The median of each per-round ratio (robust to one noisy round), with every round's value."""
    keys = rounds[0].keys() if rounds else ()
    return {
        **{key: round(statistics.median(r[key] for r in rounds), 3) for key in keys},
        "rounds": [{key: round(r[key], 3) for key in keys} for r in rounds],
    }


def median_of(rounds: Sequence[Mapping[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in rounds))


def percentiles(samples: Sequence[float], points: Sequence[float] = (50, 90, 99, 99.9)) -> dict[str, float]:
    """Nearest-rank percentiles of ``samples`` (any unit), plus min, mean and max; {} if empty."""
    if not samples:
        return {}
    ordered = sorted(samples)
    found = {"min": ordered[0], "mean": statistics.fmean(ordered), "max": ordered[-1]}
    for point in points:
        # Rounded first: 99.9 / 100 * 1000 is 999.0000000000001 in floating point, not rank 1000.
        rank = max(1, math.ceil(round(point / 100 * len(ordered), 9)))
        found[f"p{point:g}".replace(".", "")] = ordered[rank - 1]
    return found


def offered_times(rate: float, seconds: float, start: float = 0.0) -> list[float]:
    """When an open-loop client sends: one request every 1/``rate`` s, whatever the answers do."""
    count = max(1, int(rate * seconds))
    return [start + index / rate for index in range(count)]
