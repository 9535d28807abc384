"""``POST /api/programme/what-if`` (tracker/web/what_if.py): a marketing key's what-if, bad input named."""

from __future__ import annotations

from typing import Any

from .conftest import Server
from .rescore_history import DRAFT, plant


async def post(server: Server, body: Any, role: str = "marketing", expect: int = 200) -> Any:
    key = await server.key(role)
    response = await server.http.post("/api/programme/what-if", json=body, headers={"authorization": f"Bearer {key}"})
    assert response.status_code == expect, response.text
    return response.json()


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
    ]
    # Every other JSON type in each field is refused naming that field.
    wrongs: list[Any] = [None, False, 1.5, "x", [], {}]
    for wrong in wrongs:
        if not isinstance(wrong, str):
            cases.append(({"programme": wrong, "days": 30}, "programme"))
        cases.append(({"programme": DRAFT, "days": wrong}, "days"))
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
