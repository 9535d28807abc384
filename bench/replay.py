"""Re-scoring speed: ``tracker.scoring.replay`` with the seed programme over synthetic histories.

Replay runs on every merge (the merged history is re-scored from scratch) and on a
programme change; its speed bounds how large a history a merge can afford inside
one request.  Histories come from the same journeys as the storage case, validated
by ``parse_payload`` so events carry what stored events carry.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from typing import Any

import orjson

from tracker.app import DEMO_PROGRAMME
from tracker.domain.facts import Event
from tracker.domain.scoring import Scoring, replay
from tracker.services.sites import load_programme_file
from tracker.web.validation import parse_payload

from .traffic import Journeys, beacon_body

_EVENTS = 50_000
_LONG = 20_000
_ARRIVAL = 60.0  # a new visitor a minute: a small B2B site


def events(count: int) -> list[tuple[int, Event]]:
    """``count`` events of the synthetic site, with the visitor number of each."""
    made: list[tuple[int, Event]] = []
    stream = Journeys(seed=11, start=time.time() - 90 * 86400, arrival=_ARRIVAL)
    for at, visitor, hits in itertools.takewhile(lambda _: len(made) < count, stream):
        for incoming in parse_payload(orjson.loads(beacon_body(None, hits, int(at * 1000))), at).events:
            fields = (incoming.type, incoming.ts, incoming.name, incoming.url, incoming.referrer, incoming.props)
            made.append((visitor, Event(len(made) + 1, *fields)))
    return made


def _rate(scoring: Scoring, people: list[list[Event]], budget: float) -> tuple[float, int]:
    """Events per second replaying every history, repeated until ``budget`` seconds are spent."""
    total = 0
    began = time.perf_counter()
    while True:
        for history in people:
            replay(scoring, history)
            total += len(history)
        elapsed = time.perf_counter() - began
        if elapsed >= budget:
            return total / elapsed, total


def measure_replay(budget: float) -> dict[str, Any]:
    scoring = load_programme_file(DEMO_PROGRAMME).scoring
    stream = events(_EVENTS)
    by_visitor: defaultdict[int, list[Event]] = defaultdict(list)
    for visitor, event in stream:
        by_visitor[visitor].append(event)
    people = list(by_visitor.values())
    # One person holding the first events of everyone: a merge of a very long history.
    long = [event for _, event in stream[:_LONG]]
    rate, replayed = _rate(scoring, people, budget * 0.7)
    long_rate, _ = _rate(scoring, [long], budget * 0.3)
    return {
        "events_per_s": round(rate),
        "events_replayed": replayed,
        "people": len(people),
        "mean_history": round(len(stream) / len(people), 1),
        "long_history_events": len(long),
        "long_history_events_per_s": round(long_rate),
        "long_history_ms": round(1000 * len(long) / long_rate, 1),
    }
