"""``POST /api/programme/what-if`` and ``GET /api/programme/what-if/runs/{run_id}`` (tracker/web/what_if.py):
a marketing key's what-if, answered at once or polled, bad input named."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tracker.web.what_if import MAX_WAIT, WAIT, preferred_wait

from .conftest import SEED_GRID, Server
from .rescore_history import DRAFT, plant
from .what_if_replays import ERROR, break_replays, hold_replays


async def ask(server: Server, body: Any, role: str = "marketing", prefer: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {await server.key(role)}"}
    if prefer is not None:
        headers["prefer"] = prefer
    return await server.http.post("/api/programme/what-if", json=body, headers=headers)


async def post(server: Server, body: Any, role: str = "marketing", expect: int = 200) -> Any:
    response = await ask(server, body, role)
    assert response.status_code == expect, response.text
    return response.json()


async def poll(server: Server, location: str, role: str = "marketing", site: str = "demo") -> httpx.Response:
    return await server.http.get(location, headers={"authorization": f"Bearer {await server.key(role, site)}"})


async def until_done(server: Server, location: str) -> Any:
    for _ in range(500):
        answer = (await poll(server, location)).json()
        if answer["status"] != "running":
            return answer
        await asyncio.sleep(0.01)
    raise AssertionError(f"{location} never ended")


async def test_a_marketing_key_sees_what_a_programme_would_change(server: Server) -> None:
    ids = await plant(server)
    answer = await post(server, {"programme": DRAFT, "days": 30})
    assert (answer["site"], answer["days"], answer["version"]) == ("demo", 30, 1)
    assert (answer["people"], answer["changed"], answer["no_longer_qualify"]) == (3, 1, 1)
    listed = {row["id"]: row["email"] for row in answer["people_listed"]}
    assert listed == {ids["elodie"]: "elodie@example.fr", ids["capucine"]: "capucine@example.fr"}
    assert (await post(server, {"programme": DRAFT}))["days"] == 90


async def test_bad_input_is_a_4xx_naming_the_field(server: Server) -> None:
    await post(server, {"programme": DRAFT}, role="sales", expect=403)
    cases: list[tuple[Any, str]] = [
        ([], "body"),
        ({}, "programme"),
        ({"programme": 12}, "programme"),
        ({"programme": "[scores"}, "programme"),
        ({"programme": DRAFT, "days": "30"}, "days"),
        ({"programme": DRAFT, "days": True}, "days"),
        ({"programme": DRAFT, "days": 0}, "days"),
        ({"programme": DRAFT, "days": 10**18}, "days"),
        ({"programme": DRAFT, "again": "true"}, "again"),
        ({"programme": DRAFT, "again": 1}, "again"),
        ({"programme": DRAFT, "again": None}, "again"),
    ]
    # Every other JSON type in each field is refused naming that field.
    wrongs: list[Any] = [None, False, 1.5, "x", [], {}]
    for wrong in wrongs:
        if not isinstance(wrong, str):
            cases.append(({"programme": wrong, "days": 30}, "programme"))
        cases.append(({"programme": DRAFT, "days": wrong}, "days"))
        if not isinstance(wrong, bool):
            cases.append(({"programme": DRAFT, "again": wrong}, "again"))
    for body, field in cases:
        assert (await post(server, body, expect=400))["field"] == field, body
    key = await server.key("marketing")
    response = await server.http.post(
        "/api/programme/what-if", content=b"{", headers={"authorization": f"Bearer {key}"}
    )
    assert (response.status_code, response.json()["field"]) == (400, "body")
    response = await server.http.post(
        "/api/programme/what-if", content=b" " * (1024 * 1024 + 1), headers={"authorization": f"Bearer {key}"}
    )
    assert response.status_code == 413


async def test_a_long_replay_answers_202_then_its_run_gives_the_result(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    await plant(server)
    gate = hold_replays(monkeypatch)
    response = await ask(server, {"programme": DRAFT, "days": 30}, prefer="respond-async")
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert (response.headers["retry-after"], response.headers["preference-applied"]) == ("2", "respond-async")
    running = response.json()
    assert location == f"/api/programme/what-if/runs/{running['run']}"
    assert (running["status"], running["people"], running["people_done"], running["days"]) == ("running", 3, 0, 30)
    assert running["finished_at"] is None and running["error"] is None
    # Asked again meanwhile, by the API or polled: the same run, still running.
    again = await ask(server, {"programme": DRAFT, "days": 30}, prefer="wait=0")
    assert (again.status_code, again.json()["run"]) == (202, running["run"])
    polled = await poll(server, location)
    assert (polled.status_code, polled.json()["status"], polled.json()["result"]) == (200, "running", None)
    gate.set()
    done = await until_done(server, location)
    assert (done["status"], done["people_done"], done["result"]["changed"]) == ("done", 3, 1)
    assert done["finished_at"] is not None
    # The same question now gets the run's result at once, without replaying (replays would fail now).
    break_replays(monkeypatch)
    assert await post(server, {"programme": DRAFT, "days": 30}) == done["result"]


async def test_two_keys_asking_the_same_question_at_once_share_one_run(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    await plant(server)
    gate = hold_replays(monkeypatch)
    body = {"programme": DRAFT, "days": 30}
    first, second = await asyncio.gather(
        ask(server, body, prefer="respond-async"), ask(server, body, role="admin", prefer="respond-async")
    )
    # As if one came after the other: the second found the first's run, rather than starting its own.
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["run"] == second.json()["run"]
    runs = await server.runtime.store.read(lambda q: q.conn.fetchall("SELECT status FROM what_if_runs"))
    assert [row["status"] for row in runs] == ["running"]
    gate.set()
    assert (await until_done(server, first.headers["location"]))["result"]["changed"] == 1


async def test_a_small_site_is_answered_in_the_request_unless_asked_to_respond_async(server: Server) -> None:
    await plant(server)
    answered = await post(server, {"programme": DRAFT, "days": 30})
    response = await ask(server, {"programme": DRAFT, "days": 30, "again": True}, prefer="respond-async")
    assert response.status_code == 202
    assert (await until_done(server, response.headers["location"]))["result"] == answered


async def test_a_failed_replay_is_a_500_with_its_error_until_asked_again(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    await plant(server)
    break_replays(monkeypatch)
    for _ in range(2):  # the failed run answers the same question: no replay each time
        failed = await post(server, {"programme": DRAFT, "days": 30}, expect=500)
        assert failed["error"] == "replay_failed" and ERROR in failed["message"]
    monkeypatch.undo()
    assert (await post(server, {"programme": DRAFT, "days": 30, "again": True}))["changed"] == 1


async def test_a_run_is_shown_only_to_its_sites_marketing_keys(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    await plant(server)
    hold_replays(monkeypatch)
    location = (await ask(server, {"programme": DRAFT}, prefer="respond-async")).headers["location"]
    await server.load_programme(SEED_GRID, site="other")
    assert (await poll(server, location, site="other")).status_code == 404
    assert (await poll(server, location, role="sales")).status_code == 403
    assert (await server.http.get(location)).status_code == 401
    for run_id, status in (("99999", 404), ("abc", 400), ("1.5", 400), ("-1", 400), ("9" * 40, 400)):
        response = await poll(server, f"/api/programme/what-if/runs/{run_id}")
        assert (response.status_code, response.json()["field"]) == (status, "run_id"), run_id


@pytest.mark.parametrize(
    ("prefer", "expected"),
    [
        ("", (WAIT, False)),
        ("respond-async", (0.0, True)),
        ("Respond-Async, wait=5", (5.0, True)),
        ("wait=7", (7.0, False)),
        ('wait="3"', (3.0, False)),
        ("wait=7; foo=bar, return=minimal", (7.0, False)),
        ("wait=100000000000000000000000", (MAX_WAIT, False)),
        ("wait=-1", (WAIT, False)),
        ("wait=1.5", (WAIT, False)),
        ("wait=²", (WAIT, False)),
        ("wait", (WAIT, False)),
        (",,;=", (WAIT, False)),
    ],
)
def test_prefer_says_how_long_to_wait(prefer: str, expected: tuple[float, bool]) -> None:
    assert preferred_wait(prefer) == expected
