"""The sales holdout: a fixed share of new SQLs kept out of routing, drawn per person, marked in the console."""

from __future__ import annotations

from typing import Any

import pytest

from tracker.app import DEMO_PROGRAMME
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.diff import summary
from tracker.domain.programme.load import load_programme
from tracker.domain.programme.sales_holdout import HELD_OUT, SalesHoldout, compile_sales_holdout

from .conftest import Server
from .test_admin import session_of
from .test_routing import routing_of, sales_ready

WITH_HOLDOUT = DEMO_PROGRAMME.read_text(encoding="utf-8") + "\n[sales_holdout]\nshare = 50\n"


def test_off_unless_the_programme_says_so() -> None:
    assert load_programme(DEMO_PROGRAMME.read_text(encoding="utf-8")).sales_holdout is None
    assert load_programme(WITH_HOLDOUT).sales_holdout == SalesHoldout(50.0, "")
    # Turning it on is a change of the programme's own, in the version's summary.
    assert summary(load_programme(DEMO_PROGRAMME.read_text(encoding="utf-8")), load_programme(WITH_HOLDOUT)) == [
        "sales holdout changed"
    ]


@pytest.mark.parametrize("share", [10, 25])
def test_the_held_out_share_is_within_two_points_of_the_configured_one(share: int) -> None:
    holdout = SalesHoldout(float(share), "2026-q4")
    held = sum(holdout.holds_out(person) for person in range(1, 10_001))
    assert abs(held / 100 - share) < 2


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ({}, "sales_holdout.share"),
        ({"share": 0}, "sales_holdout.share"),
        ({"share": 51}, "sales_holdout.share"),
        ({"share": "10"}, "sales_holdout.share"),
        ({"share": True}, "sales_holdout.share"),
        ({"share": 10, "salt": 1}, "sales_holdout.salt"),
        ({"share": 10, "size": 1}, "sales_holdout.size"),
        (10, "sales_holdout"),
    ],
)
def test_a_wrong_holdout_names_the_key(raw: Any, where: str) -> None:
    with pytest.raises(ProgrammeError) as info:
        compile_sales_holdout(raw)
    assert info.value.where == where


async def test_held_out_sqls_are_not_routed_and_are_marked(server: Server) -> None:
    await server.load_programme(WITH_HOLDOUT)
    holdout = server.runtime.sites.get("demo").programme.sales_holdout
    assert holdout is not None
    held: list[int] = []
    routed: list[int] = []
    for n in range(6):
        beacon = await sales_ready(server, f"lead{n}@example.com")
        lead = await server.person_of(beacon)
        routing = await routing_of(server, beacon)
        if holdout.holds_out(lead["id"]):
            held.append(lead["id"])
            assert (routing["queue"], routing["owner"]) == (HELD_OUT, None)
            assert [(h["reason"], h["actor"]) for h in routing["history"]] == [("sales_holdout", "system")]
        else:
            routed.append(lead["id"])
            assert routing["queue"] == "inside-sales" and routing["owner"] is not None
    assert held and routed
    headers = await session_of(server, "sales")
    listing = (await server.http.get("/admin/leads", headers=headers)).text
    assert listing.count('<span class="held-out">Held out of routing</span>') == len(held)
    page = (await server.http.get(f"/admin/leads/{held[0]}", headers=headers)).text
    assert "drawn for the sales holdout" in page
    french = (await server.http.get(f"/admin/leads/{held[0]}", headers={**headers, "accept-language": "fr"})).text
    assert "Mis de côté (non routé)" in french
    assert "sales holdout" not in (await server.http.get(f"/admin/leads/{routed[0]}", headers=headers)).text
