"""Leads out: cursor pages in decayed-score order, CSV and NDJSON exports over HTTP and from the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from tracker.errors import BadRequest
from tracker.services.exports import Cursor, decode_cursor, encode_cursor

from .conftest import Server
from .test_routing import sales_ready
from .test_serve import run_cli

DAY = 86400.0
# One point per page view; engagement halves after 30 days without scoring.
GRID = """
[scores.engagement]
decay = { after = "30d", percent = 50 }
[[rules]]
id = "page"
score = "engagement"
when = { type = "page" }
points = 1
limit = "always"
"""


async def lead(server: Server, email: str, pages: int, **fields: Any) -> None:
    b = server.beacon()
    await b.form("newsletter", email=email, **fields)
    for n in range(pages):
        await b.page(f"/p/{n}")


async def page(server: Server, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = await server.api("/api/leads", **params)
    return body


async def every_page(server: Server, limit: int) -> list[list[tuple[str, float]]]:
    pages, cursor = [], None
    while True:
        body = await page(server, limit=limit, **({"cursor": cursor} if cursor else {}))
        pages.append([(lead["email"], lead["scores"]["engagement"]) for lead in body["leads"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


# -- the paged list -------------------------------------------------------------------------------


async def test_pages_follow_each_other_without_gaps_or_repeats(server: Server) -> None:
    await server.load_programme(GRID)
    for n, pages in enumerate((3, 7, 1, 5, 5, 2, 6)):
        await lead(server, f"lead{n}@example.com", pages)
    assert await every_page(server, 3) == [
        [("lead1@example.com", 7), ("lead6@example.com", 6), ("lead3@example.com", 5)],
        [("lead4@example.com", 5), ("lead0@example.com", 3), ("lead5@example.com", 2)],
        [("lead2@example.com", 1)],
    ]
    whole = await page(server, limit=7)
    assert whole["count"] == 7 and whole["next_cursor"] is None


async def test_pages_are_in_decayed_order_at_one_moment(server: Server) -> None:
    await server.load_programme(GRID)
    await lead(server, "stale@example.com", 20)  # 20 stored, 10 once a month has passed
    server.clock.advance(31 * DAY)
    await lead(server, "fresh@example.com", 12)
    await lead(server, "cold@example.com", 0)
    first = await page(server, limit=1)
    assert [(lead["email"], lead["scores"]["engagement"]) for lead in first["leads"]] == [("fresh@example.com", 12)]
    server.clock.advance(31 * DAY)  # the following pages still decay to the first page's moment
    second = await page(server, limit=1, cursor=first["next_cursor"])
    assert [(lead["email"], lead["scores"]["engagement"]) for lead in second["leads"]] == [("stale@example.com", 10)]
    assert second["as_of"] == first["as_of"]
    third = await page(server, limit=1, cursor=second["next_cursor"])
    assert [lead["email"] for lead in third["leads"]] == ["cold@example.com"] and third["next_cursor"] is None
    # min_score applies to decayed values: "stale" is stored at 20, worth 5 now.
    assert [lead["email"] for lead in (await page(server, min_score=6))["leads"]] == ["fresh@example.com"]


@pytest.mark.parametrize("cursor", ["nope", "W10", encode_cursor(Cursor(1.0, 2.0, 3))[:-2], "e30"])
async def test_a_cursor_this_api_did_not_give_is_refused(server: Server, cursor: str) -> None:
    assert (await server.api("/api/leads", expect=400, cursor=cursor))["field"] == "cursor"


def test_cursors_round_trip_and_refuse_nonsense() -> None:
    cursor = Cursor(1_767_225_600.0, 12.5, 42)
    assert decode_cursor(encode_cursor(cursor)) == cursor
    with pytest.raises(BadRequest):
        decode_cursor(encode_cursor(Cursor(float("inf"), 1.0, 1)))


# -- exports --------------------------------------------------------------------------------------


async def download(server: Server, path: str, role: str = "sales", expect: int = 200, **params: Any) -> bytes:
    key = await server.key(role)
    response = await server.http.get(path, params=params, headers={"authorization": f"Bearer {key}"})
    assert response.status_code == expect, response.text
    return response.content


async def test_leads_csv_has_a_column_per_score_and_defuses_formulas(server: Server) -> None:
    await sales_ready(server, "marc@example.com")
    await lead(server, "=cmd@example.com", 0, company='=HYPERLINK("http://evil")', job_title="+achat")
    key = await server.key()
    response = await server.http.get("/api/exports/leads.csv", headers={"authorization": f"Bearer {key}"})
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="leads-demo-20260101.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["email"] for row in rows] == ["marc@example.com", "'=cmd@example.com"]
    marc, evil = rows
    assert (marc["stage"], marc["queue"], marc["owner"], marc["score_engagement"]) == (
        "sql",
        "inside-sales",
        "chloe",
        "13.0",
    )
    assert list(rows[0])[6:10] == ["score_engagement", "score_fit", "score_general", "score_medical"]
    assert evil["company"] == '\'=HYPERLINK("http://evil")' and evil["job_title"] == "'+achat"
    assert orjson.loads(evil["profile"]) == {"company": '=HYPERLINK("http://evil")', "job_title": "+achat"}


async def test_leads_and_timelines_as_ndjson_with_filters(server: Server) -> None:
    await sales_ready(server, "marc@example.com")
    await lead(server, "elodie@example.com", 2)
    leads = [orjson.loads(line) for line in (await download(server, "/api/exports/leads.ndjson")).splitlines()]
    assert [(row["email"], row["routing"]) for row in leads] == [
        ("marc@example.com", {"queue": "inside-sales", "owner": "chloe"}),
        ("elodie@example.com", None),
    ]
    timeline = await download(server, "/api/exports/timeline.ndjson", queue="inside-sales")
    events = [orjson.loads(line) for line in timeline.splitlines()]
    assert [event["type"] for event in events] == ["form", "download", "download", "page", "page", "page"]
    assert {(event["email"], event["person_id"]) for event in events} == {("marc@example.com", leads[0]["id"])}
    assert [event["event_id"] for event in events] == sorted(event["event_id"] for event in events)
    table = list(csv.reader(io.StringIO((await download(server, "/api/exports/timeline.csv", stage="known")).decode())))
    assert table[0][:4] == ["person_id", "email", "event_id", "ts"] and {row[1] for row in table[1:]} == {
        "elodie@example.com"
    }
    assert await download(server, "/api/exports/leads.ndjson", owner="nobody") == b""


async def test_exports_need_a_sales_key_and_are_audited(server: Server) -> None:
    assert (await server.http.get("/api/exports/leads.csv")).status_code == 401
    await download(server, "/api/exports/leads.csv", role="marketing", expect=403)
    await download(server, "/api/exports/leads.ndjson", expect=400, stage="hot")
    await download(server, "/api/exports/timeline.ndjson", stage="sql")

    site = server.runtime.sites.get("demo")
    assert site is not None
    (entry,) = await server.runtime.store.read(lambda q: q.audit_entries(site.id, 10))
    assert (entry["action"], entry["detail"]["format"], entry["detail"]["stages"]) == (
        "export_timeline",
        "ndjson",
        ["sql"],
    )
    assert entry["actor"].startswith("key:") and entry["subject"] is None


async def test_tracker_export_writes_the_file_with_a_progress_bar(server: Server, tmp_path: Path) -> None:
    for n in range(3):
        await sales_ready(server, f"lead{n}@example.com")
    output = tmp_path / "leads.csv"
    command = ["export", "--site", "demo", "--format", "csv", "--output", str(output), "--queue", "inside-sales"]
    database = ["--db", server.runtime.settings.database_url]
    done = await asyncio.to_thread(run_cli, *command, *database)
    assert done.exit_code == 0, done.output
    assert "exported leads of 3 leads" in done.stdout and "exporting leads" in done.stdout
    rows = list(csv.DictReader(output.open(encoding="utf-8")))
    assert sorted(row["email"] for row in rows) == [f"lead{n}@example.com" for n in range(3)]
    assert {row["owner"] for row in rows} == {"chloe", "david", "emma"}
    one = tmp_path / "one.csv"
    command = ["export", "--site", "demo", "--output", str(one), "--search", "LEAD1@", "--max-score", "13"]
    done = await asyncio.to_thread(run_cli, *command, *database)
    assert done.exit_code == 0, done.output
    assert [row["email"] for row in csv.DictReader(one.open(encoding="utf-8"))] == ["lead1@example.com"]
    timeline = tmp_path / "timeline.ndjson"
    command = ["export", "--site", "demo", "--what", "timeline", "--format", "ndjson", "--output", str(timeline)]
    done = await asyncio.to_thread(run_cli, *command, *database)
    assert done.exit_code == 0, done.output
    assert len(timeline.read_bytes().splitlines()) == 3 * 6
    bad = ["export", "--site", "nope", "--output", str(tmp_path / "x"), *database]
    refused = await asyncio.to_thread(run_cli, *bad)
    assert refused.exit_code == 1 and "no site 'nope'" in refused.stderr
