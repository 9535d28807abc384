"""Fuzzing against a live server: /collect, the Segment API and every other route.

Bodies keep a real envelope (the demo site key, real visitor tokens, a real write key)
and carry hostile contents, so the fuzzing reaches validation, identity, scoring and
storage rather than stopping at "unknown site" (tests/fuzz_bodies.py).  Hostile
envelopes are fuzzed too.  Every test runs against a real `tracker serve` process over
one kept-alive connection, on SQLite and on PostgreSQL, and ends with
``after_fuzzing``: no 5xx, no dropped connection, every 4xx explained, the server
healthy and still scoring, the database consistent.  Each test also proves it was
worth running: enough of its requests got past the envelope and rows were written.

``TRACKER_FUZZ_EXAMPLES=3000`` runs each fuzzer that much longer;
``TRACKER_FUZZ_SEED=<n>`` explores other inputs than CI's fixed ones.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tracker.web.openapi import SEGMENT_CALLS, document

from .conftest import POSTGRES
from .fuzz_bodies import Shot, api_operations, api_shots, collect_shots, envelope_shots, segment_shots
from .fuzz_checks import after_fuzzing, row_counts
from .fuzz_live import Live, ServerLog, Tally, examples, populate
from .test_serve import cli_key, start_server, stop_server

# No rate limit (one client sends everything), and no webhook sent anywhere: fuzzed
# subscriptions may name real hosts, and their deliveries only need to be queued.
SERVER_ENV = {"TRACKER_VISITOR_LIMIT": "off", "TRACKER_IP_LIMIT": "off", "TRACKER_WEBHOOK_POLL": "0"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data = tmp_path_factory.mktemp("fuzz")
    schema = f"fuzz_{uuid.uuid4().hex[:12]}"
    db = f"{POSTGRES}?schema={schema}" if request.param == "postgresql" else None
    process, base = start_server(data, "--demo", *(["--db", db] if db else []), env=SERVER_ENV)
    try:
        keys = {role: cli_key(data, role, db=db) for role in ("ingest", "admin", "sales")}
        server = Live(base, process, ServerLog(process), data, db or f"sqlite:///{data / 'tracker.db'}", keys)
        populate(server)
        yield server
    finally:
        stop_server(process)
        if db:
            asyncio.run(_drop_schema(schema))


async def _drop_schema(schema: str) -> None:
    conn = await asyncpg.connect(POSTGRES)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


def fuzz(live: Live, strategy: st.SearchStrategy[Shot], count: int, tally: Tally | None = None) -> Tally:
    """Send ``count`` drawn requests over one connection; every answer is filed, none raises."""
    tally = tally or Tally()
    explore = os.environ.get("TRACKER_FUZZ_SEED")
    with live.client() as connection:
        # Generation only: nothing fails inside (failures are collected), so nothing to shrink.
        @settings(
            max_examples=count,
            deadline=None,
            derandomize=explore is None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(shot=strategy)
        def run(shot: Shot) -> None:
            live.send(connection, shot, tally)

        (seed(int(explore))(run) if explore else run)()
    live.explain(tally)
    return tally


def test_collect_contents_never_fail(live: Live) -> None:
    before = row_counts(live)
    tally = fuzz(live, collect_shots(), examples(150))
    after = after_fuzzing(live, tally)
    # Most bodies reach the events, and the events reach the database.
    assert tally.reached_share > 0.5, tally.summary()
    assert after["events"] - before["events"] > tally.sent, (before, after)
    # The hostile contents met the per-event checks, field by field.
    assert len(tally.rejected_fields) >= 8, tally.summary()


@pytest.mark.parametrize(
    ("api", "checks"), [("/collect", {"body", "site", "events"}), ("/v1/", {"body", "batch", "writeKey"})]
)
def test_envelopes_are_refused_with_reasons(live: Live, api: str, checks: set[str]) -> None:
    before = row_counts(live)
    tally = fuzz(live, envelope_shots(api), examples(60))
    after = after_fuzzing(live, tally)
    # Refused by several of the envelope's checks, each naming its field (after_fuzzing checks
    # that every refusal names one), and not by all of them: real bodies still get through.
    assert checks <= set(tally.refused_fields), tally.summary()
    assert tally.reached > 0 and after["events"] > before["events"], (tally.summary(), before, after)


def test_segment_messages_never_fail(live: Live) -> None:
    before = row_counts(live)
    tally = fuzz(live, segment_shots(), examples(150))
    after = after_fuzzing(live, tally)
    assert tally.reached_share > 0.4, tally.summary()
    assert after["events"] - before["events"] > tally.sent // 2, (before, after)
    assert len(tally.rejected_fields) >= 8, tally.summary()


def test_every_route_survives_hostile_parameters(live: Live) -> None:
    operations = api_operations()
    tally = Tally()
    # Route by route, so each gets its share however many there are.
    for operation in operations:
        fuzz(live, api_shots([operation]), max(5, examples(200) // len(operations)), tally)
    after_fuzzing(live, tally)
    # Authenticated: every route of the API read its parameters instead of stopping at 401.
    past_auth = {route for (route, status), _ in tally.statuses.items() if status not in (401, 403)}
    assert {f"{method} {path}" for method, path, _ in operations if path.startswith("/api/")} <= past_auth, (
        tally.summary()
    )
    # The console's sign-in answers a wrong password with 401: that is its job, not a missing key.
    assert not any(status == 401 and " /admin/" not in route for route, status in tally.statuses), tally.summary()
    # The API's routes answered some of it; the console's send a key-bearing caller to sign in (303).
    api = [f"{method} {path}" for method, path, _ in operations if not path.startswith("/admin") and path != "/"]
    succeeded = {route for (route, status), _ in tally.statuses.items() if status < 300} & set(api)
    assert len(succeeded) >= len(api) // 2, (sorted(succeeded), tally.summary())


@pytest.mark.parametrize("live", ["sqlite"], indirect=True)  # schema-level: one backend is enough
def test_schemathesis_finds_no_server_error_on_any_documented_route(live: Live, tmp_path: Path) -> None:
    statuses = tmp_path / "statuses.txt"
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{live.base}/api/openapi.json"]
    command += ["--checks", "not_a_server_error,errors_name_the_problem,statuses_are_recorded"]
    # In CI the coverage phase only: every parameter's boundary and invalid values, route by
    # route, at a fraction of the cost of random generation.  By hand, random cases as well.
    longer = os.environ.get("TRACKER_FUZZ_EXAMPLES")
    command += ["--phases", "coverage,fuzzing" if longer else "coverage", "-n", str(examples(50) // 50)]
    command += ["--seed", os.environ.get("TRACKER_FUZZ_SEED", "1"), "--request-timeout", "10"]
    # /v1's one-letter aliases (analytics.js's short paths) share their handlers with the long names.
    command += ["--exclude-path-regex", "^/v1/[a-z]$"]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.fuzz_checks",
        "PYTHONPATH": str(Path(__file__).parent.parent),
        "TRACKER_FUZZ_STATUSES": str(statuses),
        "TRACKER_FUZZ_ADMIN_KEY": live.keys["admin"],
        "TRACKER_FUZZ_INGEST_KEY": live.keys["ingest"],
    }
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    seen = [line.split() for line in statuses.read_text().splitlines()]
    # Authenticated: every documented operation answered something else than 401, and both
    # APIs accepted some of what schemathesis sent.
    paths = document()["paths"].items()
    documented = {(m.upper(), p) for p, ops in paths for m, op in ops.items() if op.get("security")}
    documented -= {("POST", f"/v1/{short}") for short in ("b", *SEGMENT_CALLS.values())}
    assert documented <= {(method, path) for status, method, path in seen if status != "401"}, seen[:20]
    for api in ("/api/", "/v1/"):
        assert any(status[0] == "2" and path.startswith(api) for status, _, path in seen), api
    after_fuzzing(live, Tally())
