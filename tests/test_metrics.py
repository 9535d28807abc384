"""/metrics, /healthz and /readyz."""

from __future__ import annotations

from tracker.services.metrics import rejection_reason

from .conftest import BASE, Server


def sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or (line.startswith(name + "{") and line.split(" ")[0] == name):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_events_decisions_and_refusals(server: Server) -> None:
    before = (await server.http.get("/metrics")).text
    b = server.beacon()
    await b.download("/demo/files/livre-blanc-c.pdf")
    await b.send({"type": "page", "url": BASE + "/demo/"}, {"type": "engaged", "props": {"seconds": -1}})
    await server.http.post("/collect", content=b"nope")
    after = (await server.http.get("/metrics")).text
    for name, delta in (
        ('tracker_events_total{outcome="accepted",reason=""}', 2),
        ('tracker_events_total{outcome="rejected",reason="props.seconds"}', 1),
        ('tracker_decisions_served_total{kind="popup"}', 2),  # served again until an impression comes back
        ('tracker_requests_refused_total{error="bad_request",field="body"}', 1),
        ("tracker_ingest_seconds_count", 2),
    ):
        assert sample(after, name) - sample(before, name) == delta, name


async def test_health_and_readiness(server: Server) -> None:
    assert (await server.http.get("/healthz")).json() == {"status": "ok"}
    ready = await server.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["sites"] == 1


def test_rejection_reasons_have_bounded_cardinality() -> None:
    assert rejection_reason("events[3].props.seconds") == "props.seconds"
    assert rejection_reason("events[4].props.anything.user.chose") == "props"
    assert rejection_reason("events[1].type") == "type"
    assert rejection_reason("events[0]") == "event"
