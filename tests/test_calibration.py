"""The calibration reports over HTTP (tracker.web.calibration, tracker.services.calibration): a
small history sent through the ingest pipeline plus outcomes recorded through the sales API,
read back as JSON and CSV on both backends; bad parameters name their field."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from .conftest import SEED_GRID, START, Server

DAY = 86400.0
PERIOD = {"since": START, "until": START + 20 * DAY}
# Who does what on which day, and what sales records on which day (None: nothing).
JOURNEYS: dict[str, tuple[int, list[str], tuple[int, str] | None]] = {
    "ana@example.com": (0, ["/demo/", "/demo/files/livre-blanc-c.pdf"], (5, "won")),  # 12
    "bruno@example.com": (
        1,
        ["/demo/files/livre-blanc-a.pdf", "/demo/files/livre-blanc-b.pdf"]
        + [f"/demo/blog/qualite/{slug}" for slug in ("precision", "controle", "service")],
        (6, "won"),
    ),  # 13
    "chloe@example.com": (2, ["/demo/files/livre-blanc-c.pdf"], (7, "lost")),  # 12
    "david@example.com": (2, ["/demo/files/livre-blanc-b.pdf"], None),  # 5
    "emma@example.com": (3, ["/demo/files/livre-blanc-a.pdf", "/demo/blog/qualite/precision"], (8, "meeting")),  # 4
    "felix@example.com": (3, ["/demo/emplois"], None),  # -15
    "gina@example.com": (4, ["/demo/files/livre-blanc-b.pdf", "/demo/tarifs"], (9, "won")),  # 10
}


async def calibration_history(server: Server) -> dict[str, int]:
    """Seven leads and one anonymous visitor over ten days; answers each lead's id by e-mail."""
    ids: dict[str, int] = {}
    for email, (day, paths, _) in JOURNEYS.items():
        server.clock.now = START + day * DAY + 3600
        beacon = server.beacon()
        for path in paths:
            if "/files/" in path:
                await beacon.download(path)
            else:
                await beacon.page(path)
        await beacon.form("newsletter", email=email)
        ids[email] = (await server.person_of(beacon))["id"]
    await server.beacon().page("/demo/tarifs")  # never identified: not a lead
    key = await server.key("sales")
    for email, (_, _, outcome) in sorted(JOURNEYS.items(), key=lambda item: item[1][2] or (99, "")):
        if outcome is None:
            continue
        day, kind = outcome
        server.clock.now = START + day * DAY
        body: dict[str, Any] = {"kind": kind, **({"value": 1000} if kind == "won" else {})}
        body |= {"reason": "budget"} if kind == "lost" else {}
        answer = await server.http.post(
            f"/api/leads/{ids[email]}/outcome", json=body, headers={"authorization": f"Bearer {key}"}
        )
        assert answer.status_code == 201, answer.text
    server.clock.now = START + 30 * DAY
    return ids


async def test_conversion_by_band_stage_and_threshold(server: Server) -> None:
    await calibration_history(server)
    report = await server.api("/api/reports/conversion", role="marketing", width=5, **PERIOD)
    assert (report["leads"], report["converted"], report["score"]) == (7, 3, "engagement")
    assert report["until"] == "2026-01-21T00:00:00Z"
    # At their conversion ana 12, bruno 13, gina 10; at the period's end chloe 12, david 5, emma 4, felix -15.
    bands = {band["low"]: (band["leads"], band["converted"]) for band in report["bands"]}
    assert bands == {-15: (1, 0), -10: (0, 0), -5: (0, 0), 0: (1, 0), 5: (1, 0), 10: (4, 3)}
    stages = {row["stage"]: (row["leads"], row["converted"]) for row in report["stages"]}
    assert stages == {"known": (3, 0), "mql": (1, 1), "sql": (3, 2)}
    threshold = report["threshold"]
    assert threshold["sql"] == 12 and threshold["test"]["verdict"] == "unclear"
    assert (threshold["test"]["above"]["leads"], threshold["test"]["above"]["converted"]) == (3, 2)
    assert (threshold["test"]["below"]["leads"], threshold["test"]["below"]["converted"]) == (4, 1)
    assert "intervals overlap" in threshold["test"]["statement"] and "66.7 %" in threshold["test"]["statement"]
    assert threshold["current"]["threshold"] == 12 and threshold["current"]["f1"] == pytest.approx(2 / 3)
    assert (threshold["best"]["threshold"], threshold["best"]["leads"], threshold["best"]["recall"]) == (10, 4, 1.0)


async def test_a_period_ends_by_default_at_the_end_of_the_current_minute(server: Server) -> None:
    """Everything up to now, and the same period for a minute: the same report asked again is the one kept."""
    await calibration_history(server)
    server.clock.now = START + 30 * DAY + 12.5
    report = await server.api("/api/reports/conversion", role="marketing")
    assert (report["since"], report["until"]) == ("2025-11-02T00:01:00Z", "2026-01-31T00:01:00Z")


# The newsletter form says nothing of fit: every lead is a C, banded by engagement.
GRADED = (
    SEED_GRID
    + """
[grade]
fit = "fit"
engagement = "engagement"
fit_bands = { A = 10, B = 5, C = 0 }
engagement_bands = { 1 = 12, 2 = 5, 3 = 0 }
"""
)


async def test_conversion_by_grade_read_with_the_scores(server: Server) -> None:
    await server.load_programme(GRADED)
    await calibration_history(server)
    report = await server.api("/api/reports/conversion", role="marketing", width=5, **PERIOD)
    grades = {row["grade"]: (row["leads"], row["converted"]) for row in report["grades"]}
    # At their conversion ana 12 and bruno 13 (C1), gina 10 (C2); chloe 12, david 5, emma 4, felix -15 at the end.
    assert list(grades) == ["A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2", "C3"]
    assert (grades["A1"], grades["C1"], grades["C2"], grades["C3"]) == ((0, 0), (3, 2), (2, 1), (2, 0))
    c1 = next(row for row in report["grades"] if row["grade"] == "C1")
    assert c1["rate"]["estimate"] == pytest.approx(2 / 3) and c1["rate"]["low"] < 2 / 3 < c1["rate"]["high"]
    key = await server.key("marketing")
    table = await server.http.get(
        "/api/reports/conversion.csv", params={**PERIOD, "width": 5}, headers={"authorization": f"Bearer {key}"}
    )
    rows = {row["group"]: row for row in csv.DictReader(io.StringIO(table.text))}
    assert (rows["grade:C2"]["leads"], rows["grade:C2"]["converted"], rows["grade:C2"]["rate"]) == ("2", "1", "0.5")


async def test_no_grade_no_conversion_by_grade(server: Server) -> None:
    await calibration_history(server)
    report = await server.api("/api/reports/conversion", role="marketing", **PERIOD)
    assert "grades" not in report and report["stages"]


async def test_converting_kinds_are_chosen(server: Server) -> None:
    await calibration_history(server)
    both = await server.api("/api/reports/conversion", role="marketing", converting="won,meeting", **PERIOD)
    assert (both["converted"], both["converting"]) == (4, ["won", "meeting"])
    lost = await server.api("/api/reports/conversion", role="admin", converting="lost", **PERIOD)
    assert lost["converted"] == 1


async def test_behaviours_and_distribution(server: Server) -> None:
    await calibration_history(server)
    report = await server.api("/api/reports/behaviours", role="marketing", **PERIOD)
    found = {(b["kind"], b["key"]): b for b in report["behaviours"]}
    vision = found[("rule", "wp-c")]
    # ana (converted) and chloe (not) downloaded white paper C: lift (1/2) / (2/5).
    assert (vision["converters"], vision["others"], vision["points"]) == (1, 1, 12)
    assert vision["lift"]["estimate"] == pytest.approx(1.25)
    download = found[("download", "/demo/files/livre-blanc-c.pdf")]
    assert (download["converters"], download["others"], download["points"]) == (1, 1, 12)
    nobody = found[("rule", "demo-request")]  # every rule of the programme is listed, done or not
    assert (nobody["converters"], nobody["others"], nobody["lift"], nobody["flag"]) == (0, 0, None, None)
    spread = await server.api("/api/reports/distribution", role="marketing", width=5, **PERIOD)
    assert set(spread["scores"]) == {"engagement", "fit", "general", "medical"}
    assert sum(band["leads"] for band in spread["scores"]["fit"]) == 7
    first_visit, mql = spread["time_to_conversion"]
    assert (first_visit["from"], first_visit["count"]) == ("first_visit", 3)
    assert first_visit["median_seconds"] == pytest.approx(5 * DAY - 3600)  # everyone converted 5 days after
    assert (mql["from"], mql["count"]) == ("mql", 3)


async def test_csv_tables(server: Server) -> None:
    await calibration_history(server)
    key = await server.key("marketing")
    answer = await server.http.get(
        "/api/reports/behaviours.csv", params={**PERIOD, "width": 5}, headers={"authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="behaviours-demo-20260121.csv"' in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    vision = next(row for row in rows if row["key"] == "wp-c")
    assert (vision["kind"], vision["converters"], vision["others"]) == ("rule", "1", "1")
    conversion = await server.http.get(
        "/api/reports/conversion.csv", params={**PERIOD, "width": 5}, headers={"authorization": f"Bearer {key}"}
    )
    groups = [row["group"] for row in csv.DictReader(io.StringIO(conversion.text))]
    assert groups.count("band") == 6 and "stage:sql" in groups and groups[-2:] == ["above_sql", "below_sql"]


BAD = [
    ({"score": "nope"}, "score"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, "since"),
    ({"since": "2020-01-01", "until": "2026-01-01"}, "since"),
    ({"since": "yesterday"}, "since"),
    ({"until": "NaN"}, "until"),
    ({"until": "9" * 25}, "until"),
    ({"since": "-1e15"}, "since"),
    ({"width": "0"}, "width"),
    ({"converting": "won,maybe"}, "converting"),
    ({"window": "0"}, "window"),
    ({"criterion": "accuracy"}, "criterion"),
    ({"min_volume": "-1"}, "min_volume"),
]


async def test_bad_parameters_name_their_field(server: Server) -> None:
    for params, field in BAD:
        answer = await server.api("/api/reports/conversion", expect=400, role="marketing", **params)
        assert answer["field"] == field, params


async def test_a_marketing_key_or_a_session_reads_the_reports(server: Server) -> None:
    refused = await server.api("/api/reports/conversion", expect=403, role="sales")
    assert refused["field"] == "authorization"
    empty = await server.api("/api/reports/distribution", role="marketing")
    assert empty["leads"] == 0 and empty["time_to_conversion"][0]["count"] == 0
