"""Prometheus metrics: what operators watch, served at ``GET /metrics``.

Counters are per process; with ``--workers N`` scrape each worker or run one worker
per container, as usual for Python servers.
"""

from __future__ import annotations

import re

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS = Counter(
    "tracker_events_total",
    "Events received, by outcome (accepted, rejected, withheld, bot, internal) and reason.",
    ["outcome", "reason"],
    registry=REGISTRY,
)
# Bound once: looking a child up by labels on every request costs more than the increment.
ACCEPTED_EVENTS = EVENTS.labels("accepted", "")
REQUESTS_REFUSED = Counter(
    "tracker_requests_refused_total",
    "Whole ingest requests refused, by error code and field.",
    ["error", "field"],
    registry=REGISTRY,
)
DECISIONS = Counter(
    "tracker_decisions_served_total", "Campaign decisions sent to browsers, by kind.", ["kind"], registry=REGISTRY
)
INGEST_SECONDS = Histogram(
    "tracker_ingest_seconds",
    "Time to validate, store durably, score and decide one /collect request.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
_EVENT_INDEX = re.compile(r"^events\[\d+\]\.?")
# Property names come from browsers; only these few are worth a label of their own.
_NAMED_PROPS = frozenset({"props.seconds", "props.campaign", "props.email"})


def rejection_reason(field: str) -> str:
    """``events[3].props.seconds`` → ``props.seconds``: a label with bounded cardinality."""
    path = _EVENT_INDEX.sub("", field)
    first, _, rest = path.partition(".")
    named = f"{first}.{rest.split('.', 1)[0]}" if rest else first
    return named if named in _NAMED_PROPS else (first.split("[", 1)[0] or "event")


async def metrics(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
