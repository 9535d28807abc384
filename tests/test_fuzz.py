"""Fuzzing: property tests on /collect and schemathesis on every documented route.

No input may produce a 5xx, every 4xx explains itself, and nothing is half-written:
afterwards every row points at a person that exists and every ledger sums to its score.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.domain.facts import EVENT_TYPES

from .test_serve import cli_key, start_server, stop_server

UNLIMITED = {"TRACKER_VISITOR_LIMIT": "off", "TRACKER_IP_LIMIT": "off"}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
events = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(EVENT_TYPES)) | st.text(max_size=8)},
    optional={
        "url": st.just("http://shop.test/demo/blog/qualite/a") | json_values,
        "name": st.text(max_size=20) | json_values,
        "props": st.dictionaries(
            st.sampled_from(["email", "seconds", "campaign", "price", "x"]), json_values, max_size=4
        )
        | json_values,
        "t": st.integers() | json_values,
    },
)
payloads = st.fixed_dictionaries(
    {"site": st.just("demo") | json_values, "events": st.lists(events, max_size=6) | json_values},
    optional={"vid": json_values, "ctx": json_values, "sent_at": json_values},
)


def integrity(db: Path) -> None:
    """Nothing half-written: no orphan rows, and every person's ledger sums to its stored scores."""
    with sqlite3.connect(db) as conn:
        for table in ("events", "ledger", "visitors", "stages", "decisions", "person_scores"):
            orphans = conn.execute(
                f"SELECT COUNT(*) FROM {table} WHERE person_id NOT IN (SELECT id FROM persons)"
            ).fetchone()[0]
            assert orphans == 0, table
        sums = conn.execute("SELECT person_id, score, SUM(points) FROM ledger GROUP BY person_id, score").fetchall()
        stored = {(p, s): v for p, s, v in conn.execute("SELECT person_id, score, value FROM person_scores")}
        for person, score, total in sums:
            assert abs(stored[person, score] - total) < 1e-6, (person, score)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Path]]:
    data = tmp_path_factory.mktemp("fuzz")
    process, base = start_server(data, "--demo", env=UNLIMITED)
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            yield http, data / "tracker.db"
    finally:
        stop_server(process)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=payloads)
def test_collect_never_fails_and_explains_every_refusal(client: tuple[httpx.Client, Path], body: Any) -> None:
    http, _ = client
    response = http.post("/collect", json=body)
    assert response.status_code < 500, response.text
    answer = response.json()
    if response.status_code >= 400:
        assert answer["message"] and answer["field"], answer
    else:
        assert all(r["field"] and r["message"] for r in answer["rejected"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_collect_survives_arbitrary_bytes(client: tuple[httpx.Client, Path], body: bytes) -> None:
    http, _ = client
    response = http.post("/collect", content=body, headers={"content-type": "text/plain"})
    assert response.status_code < 500 and response.json()["message"]


def test_fuzzed_database_is_consistent(client: tuple[httpx.Client, Path]) -> None:
    integrity(client[1])


def test_schemathesis_finds_no_server_error_on_any_documented_route(tmp_path: Path) -> None:
    process, base = start_server(tmp_path, "--demo", env=UNLIMITED)
    try:
        key = cli_key(tmp_path, "admin")
        common = [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/api/openapi.json"]
        common += ["--checks", "not_a_server_error,errors_name_the_problem", "-n", "40", "--request-timeout", "10"]
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_checks", "PYTHONPATH": str(Path.cwd())}
        for scope, auth in (("^/api", ["-H", f"Authorization: Bearer {key}"]), ("^/v1", ["--auth", f"{key}:"])):
            run = subprocess.run(
                [*common, "--include-path-regex", scope, *auth], capture_output=True, text=True, env=env, timeout=300
            )
            assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    finally:
        stop_server(process)
    integrity(tmp_path / "tracker.db")
