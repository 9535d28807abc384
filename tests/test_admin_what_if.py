"""The console's what-if (web/admin/what_if.py): the draft's what-if reached from the editor, shown at
once on a small site; on a large one its progress, polled by htmx until the page reloads with the result;
"Replay again" asking anew."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest

from tracker.services import what_if_runs

from .conftest import Server
from .rescore_history import DRAFT, plant, win
from .test_admin import session_of
from .test_admin_hostile import HOSTILE
from .test_admin_programme import marketing, post, text_of
from .what_if_replays import ERROR, break_replays, hold_replays


async def test_the_draft_what_if_lists_who_would_change_stage(server: Server) -> None:
    ids = await plant(server)
    await win(server, ids["elodie"])
    headers, csrf = await marketing(server)
    empty = await server.http.get("/admin/programme/what-if?site=demo", headers=headers)
    assert empty.status_code == 200 and 'id="no-draft"' in empty.text
    await post(server, "/admin/programme/edit/toml", headers, csrf, source=DRAFT)
    editor = await server.http.get("/admin/programme/edit?site=demo", headers=headers)
    assert 'href="/admin/programme/what-if?site=demo"' in editor.text
    page = await server.http.get("/admin/programme/what-if?site=demo&days=30", headers=headers)
    words = text_of(page)
    assert "3 people seen in the last 30 days" in words
    assert "1 people change stage." in words and "1 no longer qualify" in words
    assert f'href="/admin/leads/{ids["elodie"]}"' in page.text and "elodie@example.fr" in words
    assert "kept: its new scores say known" in words  # Capucine keeps her SQL
    # Élodie won at 5 now, at 8 with the draft: her conversion moves up two bands of 2 points.
    assert "Conversion by band of engagement" in words
    assert re.search(r'<tr data-band="4.0">.*?(<td class="num">1</td>){2}<td class="num">100 %', page.text, re.S)
    assert re.search(
        r'<tr data-band="8.0">(?:(?!</tr>).)*?<td class="num">1</td><td class="num">1</td>', page.text, re.S
    )
    french = await server.http.get(
        "/admin/programme/what-if?site=demo&days=30", headers={**headers, "accept-language": "fr"}
    )
    assert "Conversion par tranche de engagement" in french.text
    for days in ("-4", "²", "9" * 5000, "3651"):
        odd = await server.http.get("/admin/programme/what-if", params={"site": "demo", "days": days}, headers=headers)
        assert odd.status_code == 200 and "Choose a number of days from 1 to 3650." in odd.text
    sales = await session_of(server, "sales")
    assert (await server.http.get("/admin/programme/what-if?site=demo", headers=sales)).status_code == 403


async def marketing_with_a_draft(server: Server) -> tuple[dict[str, str], str]:
    """The planted history, and a marketing user's session (headers, CSRF token) with ``DRAFT`` saved."""
    await plant(server)
    headers, csrf = await marketing(server)
    await post(server, "/admin/programme/edit/toml", headers, csrf, source=DRAFT)
    return headers, csrf


@pytest.fixture
def slow_replay(monkeypatch: pytest.MonkeyPatch) -> Iterator[asyncio.Event]:
    """Replays wait for the returned event, as a large site's would take their time; pages do not wait for them."""
    gate = hold_replays(monkeypatch)
    monkeypatch.setattr(what_if_runs, "WAIT", 0.01)
    yield gate
    gate.set()


async def finished(server: Server, run_id: int) -> None:
    for _ in range(200):
        run = await server.runtime.store.read(lambda q: q.what_if_run(run_id))
        if run is not None and run.status != "running":
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"what-if run {run_id} never ended")


async def test_a_long_replay_shows_its_progress_until_the_page_reloads_with_the_result(
    server: Server, slow_replay: asyncio.Event
) -> None:
    headers, _ = await marketing_with_a_draft(server)
    page = await server.http.get("/admin/programme/what-if?site=demo&days=30", headers=headers)
    assert "Replaying your draft: 0 of 3 people" in text_of(page) and 'id="rescore-counts"' not in page.text
    progress_url = "/admin/programme/what-if/progress?site=demo&days=30"
    assert f'hx-get="{progress_url.replace("&", "&amp;")}" hx-trigger="every 1s"' in page.text
    run = await what_if_runs.current(server.runtime.store, 1, DRAFT, 30, server.clock())
    assert run is not None and run.status == "running"
    assert '<meta http-equiv="refresh" content="3">' in page.text  # without JS, the page reloads itself
    again = await server.http.get("/admin/programme/what-if?site=demo&days=30", headers=headers)
    assert (
        again.status_code == 200
        and await what_if_runs.current(server.runtime.store, 1, DRAFT, 30, server.clock()) == run
    )
    polled = await server.http.get(progress_url, headers=headers)
    assert polled.status_code == 200 and "HX-Refresh" not in polled.headers
    assert polled.text.lstrip().startswith('<div id="what-if-progress"') and "<html" not in polled.text
    slow_replay.set()
    await finished(server, run.id)
    ended = await server.http.get(progress_url, headers=headers)
    assert ended.headers["HX-Refresh"] == "true"  # htmx reloads the whole page
    result = await server.http.get("/admin/programme/what-if?site=demo&days=30", headers=headers)
    assert "1 people change stage." in text_of(result) and "Replayed on" in text_of(result)
    assert "what-if/progress" not in result.text
    # No run over 7 days: the page reloads, and starts one.
    other = await server.http.get(progress_url.replace("days=30", "days=7"), headers=headers)
    assert other.status_code == 200 and other.headers["HX-Refresh"] == "true"


async def test_replay_again_asks_anew(server: Server) -> None:
    headers, csrf = await marketing_with_a_draft(server)
    first = await server.http.get("/admin/programme/what-if?site=demo&days=30", headers=headers)
    assert "3 people seen in the last 30 days" in text_of(first)
    assert 'action="/admin/programme/what-if"' in first.text and "Replay again" in first.text
    beacon = server.beacon()
    await beacon.page("/demo/")  # a fourth person since
    again = await post(server, "/admin/programme/what-if", headers, csrf, days="30")
    assert again.status_code == 303 and again.headers["location"] == "/admin/programme/what-if?site=demo&days=30"
    shown = await server.http.get(again.headers["location"], headers=headers)
    assert "4 people seen in the last 30 days" in text_of(shown)
    forged = await server.http.post("/admin/programme/what-if", headers=headers, data={"site": "demo", "days": "30"})
    assert forged.status_code == 403
    sales = await session_of(server, "sales")
    progress = await server.http.get("/admin/programme/what-if/progress?site=demo&days=30", headers=sales)
    assert progress.status_code == 403


async def test_a_failed_replay_says_why_and_offers_to_replay_again(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_replays(monkeypatch)
    headers, _ = await marketing_with_a_draft(server)
    page = await server.http.get("/admin/programme/what-if?site=demo&days=30", headers=headers)
    assert f"The replay failed: {ERROR}" in text_of(page) and "Replay again" in page.text
    assert "hx-get" not in page.text


async def test_two_pages_asking_the_same_question_at_once_share_one_run(
    server: Server, slow_replay: asyncio.Event
) -> None:
    headers, _ = await marketing_with_a_draft(server)
    address = "/admin/programme/what-if?site=demo&days=30"
    pages = await asyncio.gather(*(server.http.get(address, headers=headers) for _ in range(2)))
    assert all("Replaying your draft: 0 of 3 people" in text_of(page) for page in pages)
    # As if one came after the other: the second found the first's run, rather than stopping it for one of its own.
    runs = await server.runtime.store.read(lambda q: q.conn.fetchall("SELECT status FROM what_if_runs"))
    assert [row["status"] for row in runs] == ["running"]
    slow_replay.set()
    await finished(server, 1)
    assert "3 people seen in the last 30 days" in text_of(await server.http.get(address, headers=headers))


async def test_hostile_sites_and_days_get_an_answer_on_every_what_if_route(server: Server) -> None:
    headers, csrf = await marketing_with_a_draft(server)
    for value in HOSTILE:
        for field in ("site", "days"):
            fields = {"site": "demo", "days": "30", field: value}
            page = await server.http.get("/admin/programme/what-if", params=fields, headers=headers)
            progress = await server.http.get("/admin/programme/what-if/progress", params=fields, headers=headers)
            again = await server.http.post("/admin/programme/what-if", data={**fields, "csrf": csrf}, headers=headers)
            statuses = (page.status_code, progress.status_code, again.status_code)
            if field == "days":  # a bad number of days is the default's: 90
                assert statuses == (200, 200, 303), (value, statuses)
                days = 12 if value == " 12 " else 90  # spaces around a number are no error
                assert again.headers["location"] == f"/admin/programme/what-if?site=demo&days={days}"
            elif value:  # no such site
                assert statuses == (404, 404, 404), (value, statuses)
            else:  # no site named: the console's site, the only one
                assert statuses == (200, 200, 303), (value, statuses)
    asked = await server.runtime.store.read(lambda q: q.conn.fetchall("SELECT DISTINCT days FROM what_if_runs"))
    assert sorted(row["days"] for row in asked) == [12, 30, 90]
