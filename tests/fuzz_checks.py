"""What must hold after fuzzing, and schemathesis checks of our own.

``after_fuzzing`` runs at the end of every fuzz test: no 5xx, no dropped connection, no
unexplained 4xx, nosniff on every answer; the server still healthy and still scoring a
normal visit; and the database consistent (no row pointing at a person, site or webhook
that does not exist, no merged-away person left, every ledger summing to its score).

The schemathesis hooks are loaded by the schemathesis CLI through SCHEMATHESIS_HOOKS
(tests/test_fuzz.py): ``LiveKeys`` authenticates each route with the key it takes (so the
run gets past 401), and ``statuses_are_recorded`` writes every status it sees to the file
named by ``TRACKER_FUZZ_STATUSES`` so the test can tell how far the run got.
"""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Any

import schemathesis

from tracker.store import Queries, open_store
from tracker.store.privacy_queries import PERSON_REFERENCES

from .fuzz_live import Live, Tally, api, download, visit


@schemathesis.check
def errors_name_the_problem(ctx: Any, response: Any, case: Any) -> None:
    """Every 4xx is JSON with an error code and a message saying what is wrong."""
    if 400 <= response.status_code < 500 and case.method != "OPTIONS":  # browsers read no preflight body
        body = response.json()
        assert isinstance(body, dict) and body.get("error") and body.get("message"), (
            f"unexplained {response.status_code}"
        )


class LiveKeys:
    """The admin key as a Bearer token on /api, the ingest key as the Basic user on /v1."""

    def get(self, case: Any, ctx: Any) -> str:
        role = "INGEST" if case.path.startswith("/v1/") else "ADMIN"
        return os.environ[f"TRACKER_FUZZ_{role}_KEY"]

    def set(self, case: Any, data: str, ctx: Any) -> None:
        if case.path.startswith("/v1/"):
            case.headers["Authorization"] = "Basic " + base64.b64encode(f"{data}:".encode()).decode()
        else:
            case.headers["Authorization"] = f"Bearer {data}"


if os.environ.get("TRACKER_FUZZ_ADMIN_KEY"):  # only in the schemathesis run, which sets the keys
    schemathesis.auth()(LiveKeys)


@schemathesis.check
def statuses_are_recorded(ctx: Any, response: Any, case: Any) -> None:
    """Not a check: the statuses seen, one a line, for the test to judge the run by."""
    path = os.environ.get("TRACKER_FUZZ_STATUSES")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"{response.status_code} {case.method} {case.path}\n")


# Rows that point at something that must exist, beyond PERSON_REFERENCES: (what, SQL counting them).
# Events → visitors or former_devices: a person's devices beyond MAX_DEVICES are trimmed on purpose,
# their events kept (abuse.MAX_DEVICES), and the fuzzers give a few people hundreds of devices.
DANGLING = (
    (
        "events naming no device",
        "SELECT COUNT(*) FROM events WHERE visitor_num NOT IN (SELECT num FROM visitors)"
        " AND visitor_num NOT IN (SELECT num FROM former_devices)",
    ),
    ("persons of no site", "SELECT COUNT(*) FROM persons WHERE site_id NOT IN (SELECT id FROM sites)"),
    ("visitors of no site", "SELECT COUNT(*) FROM visitors WHERE site_id NOT IN (SELECT id FROM sites)"),
    ("merged-away ids still people", "SELECT COUNT(*) FROM aliases WHERE old_id IN (SELECT id FROM persons)"),
    ("people with no device", "SELECT COUNT(*) FROM persons WHERE id NOT IN (SELECT person_id FROM visitors)"),
    (
        "deliveries of no webhook",
        "SELECT COUNT(*) FROM webhook_outbox WHERE webhook_id NOT IN (SELECT id FROM webhooks)",
    ),
)
# Tables whose growth shows a fuzz test wrote something.
COUNTED = ("persons", "visitors", "events", "ledger")


async def _inspect(database_url: str) -> tuple[dict[str, int], list[str]]:
    """Row counts of COUNTED, and every inconsistency found."""
    store = open_store(database_url)
    await store.open()
    try:

        async def run(q: Queries) -> tuple[dict[str, int], list[str]]:
            problems: list[str] = []
            for table, column in PERSON_REFERENCES:
                if table == "persons":
                    continue
                sql = f"SELECT COUNT(*) FROM {table} WHERE {column} NOT IN (SELECT id FROM persons)"
                if orphans := int(await q.conn.fetchval(sql)):
                    problems.append(f"{orphans} {table} rows of no person")
            for what, sql in DANGLING:
                if found := int(await q.conn.fetchval(sql)):
                    problems.append(f"{found} {what}")
            stored = {
                (row["person_id"], row["score"]): float(row["value"])
                for row in await q.conn.fetchall("SELECT person_id, score, value FROM person_scores")
            }
            sums = await q.conn.fetchall(
                "SELECT person_id, score, SUM(points) AS total FROM ledger_rows GROUP BY person_id, score"
            )
            for row in sums:
                if abs(stored.get((row["person_id"], row["score"]), 0.0) - float(row["total"])) > 1e-6:
                    problems.append(f"person {row['person_id']}: ledger of {row['score']} does not sum to its score")
            counts = {table: int(await q.conn.fetchval(f"SELECT COUNT(*) FROM {table}")) for table in COUNTED}
            return counts, problems

        return await store.read(run)
    finally:
        await store.close()


def row_counts(live: Live) -> dict[str, int]:
    return asyncio.run(_inspect(live.database_url))[0]


def after_fuzzing(live: Live, tally: Tally) -> dict[str, int]:
    """Every fuzz test ends here; returns the row counts for the test's own expectations."""
    print(tally.summary())  # what was sent and answered, shown with -s or when the test fails
    assert not tally.failures, tally.report() + "\n" + tally.summary()
    assert live.process.poll() is None, "the server died:\n" + live.log.text()[-4000:]
    with live.client() as connection:
        for probe in ("/healthz", "/readyz"):
            response = connection.http.get(probe)
            assert response.status_code == 200, (probe, response.text)
        # A normal visitor still scores: white paper C is worth 12 in the demo programme.
        token = visit(connection, download("/demo/files/livre-blanc-c.pdf"))
        person = api(live, connection, "GET", f"/api/visitors/{token}")["person_id"]
        lead = api(live, connection, "GET", f"/api/leads/{person}")
        assert lead["scores"]["engagement"] == 12, lead
        identify = {"userId": "after-fuzzing", "traits": {"email": "after-fuzzing@example.com"}}
        answer = connection.http.post("/v1/identify", json=identify, auth=(live.keys["ingest"], "")).json()
        assert answer.get("accepted", 0) + answer.get("duplicates", 0) == 1, answer
    counts, problems = asyncio.run(_inspect(live.database_url))
    assert not problems, problems
    return counts
