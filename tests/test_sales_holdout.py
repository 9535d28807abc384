"""The sales holdout: a fixed share of new SQLs kept out of routing, drawn per person, marked in the console."""

from __future__ import annotations

from typing import Any

import pytest

from tracker.app import DEMO_PROGRAMME
from tracker.domain.outcomes import Outcome
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.diff import summary
from tracker.domain.programme.load import load_programme
from tracker.domain.programme.sales_holdout import HELD_OUT, SalesHoldout, compile_sales_holdout
from tracker.services.outcomes import record_outcome

from .conftest import Server
from .test_admin import session_of
from .test_routing import routing_of, sales_ready

DAY = 86400.0
WITH_HOLDOUT = DEMO_PROGRAMME.read_text(encoding="utf-8") + "\n[sales_holdout]\nshare = 50\n"


def test_off_unless_the_programme_says_so() -> None:
    assert load_programme(DEMO_PROGRAMME.read_text(encoding="utf-8")).sales_holdout is None
    assert load_programme(WITH_HOLDOUT).sales_holdout == SalesHoldout(50.0, "", 90 * DAY)
    # Turning it on is a change of the programme's own, in the version's summary.
    assert summary(load_programme(DEMO_PROGRAMME.read_text(encoding="utf-8")), load_programme(WITH_HOLDOUT)) == [
        "sales holdout changed"
    ]


@pytest.mark.parametrize("share", [10, 25])
def test_the_held_out_share_is_within_two_points_of_the_configured_one(share: int) -> None:
    holdout = SalesHoldout(float(share), "2026-q4", DAY)
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
        ({"share": 10, "window": "soon"}, "sales_holdout.window"),
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


async def test_the_report_compares_won_leads_held_out_and_routed(server: Server) -> None:
    await server.api("/api/sales-holdout", expect=403, role="sales")
    before = await server.api("/api/sales-holdout", role="marketing")
    assert before["share"] is None and before["since"] is None
    assert [(arm["name"], arm["people"]) for arm in before["arms"]] == [("held_out", 0), ("routed", 0)]

    # Routed before the holdout began: not compared (other times, other leads).
    await sales_ready(server, "early@example.com")
    await server.load_programme(WITH_HOLDOUT)
    site = server.runtime.sites.get("demo")
    holdout = site.programme.sales_holdout
    assert holdout is not None
    arms: dict[bool, list[int]] = {True: [], False: []}
    for n in range(8):
        server.clock.advance(60)
        lead = (await server.person_of(await sales_ready(server, f"lead{n}@example.com")))["id"]
        arms[holdout.holds_out(lead)].append(lead)
    assert arms[True] and arms[False]
    won = Outcome("won", value=1000.0)
    for lead in arms[False]:
        await record_outcome(server.runtime.store, site, lead, won, actor="test", now=server.clock())
    report = await server.api("/api/sales-holdout", role="marketing")
    held, routed = report["arms"]
    assert report["share"] == 50 and report["window_days"] == 90 and report["reference"] == "held_out"
    assert (held["name"], held["people"], held["conversions"], held["share"]) == ("held_out", len(arms[True]), 0, 50)
    assert (routed["people"], routed["conversions"]) == (len(arms[False]), len(arms[False]))
    assert routed["uplift"] == 1.0 and routed["uplift_low"] > 0 and routed["significant"]
