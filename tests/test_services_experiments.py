"""Campaign experiments end to end: /collect serves each person their arm and logs the control group,
assignment survives a merge, the results come back from the log, a variant ends and a winner is kept."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tracker.domain.experiments import CONTROL, Experiment
from tracker.domain.outcomes import Outcome
from tracker.domain.programme.campaign_edit import campaign_tables
from tracker.errors import BadRequest
from tracker.services.experiments import NoExperiment, end_variant, experiment_report, keep_variant
from tracker.services.outcomes import record_outcome
from tracker.services.programmes import Published, StalePublish

from .conftest import BASE, Beacon, Server

DAY = 86400.0
PROGRAMME = """
[scores.engagement]
mql = 50
sql = 100

[[rules]]
id = "page"
score = "engagement"
when = { type = "page" }
points = 1
limit = "always"

[[campaigns]]
id = "offer"
kind = "banner"
text = "Livraison offerte"
frequency = "always"
[campaigns.experiment]
control = 50
goal = ["conversion", "won"]
[[campaigns.experiment.variants]]
id = "b"
share = 50
text = "Livraison offerte ce mois-ci"
"""


def offer(answer: dict[str, Any]) -> dict[str, Any] | None:
    return next((d for d in answer["decisions"] if d["campaign"] == "offer"), None)


def experiment(server: Server) -> Experiment:
    found = server.runtime.sites.get("demo").programme.experiments["offer"]
    return found


async def person_id(server: Server, beacon: Beacon) -> int:
    return int((await server.api(f"/api/visitors/{beacon.vid}"))["person_id"])


async def log_of(server: Server, person: int) -> list[tuple[str, str | None, str]]:
    rows = (await server.api(f"/api/leads/{person}"))["decisions"]
    return [(row["action"], row["variant"], row["campaign"]) for row in reversed(rows)]


async def test_collect_serves_each_arm_and_logs_the_control_group_as_held_out(server: Server) -> None:
    await server.load_programme(PROGRAMME)
    arms: dict[str, int] = {}
    for _ in range(8):
        beacon = server.beacon()
        answer = await beacon.page("/demo/")
        person = await person_id(server, beacon)
        arm = experiment(server).arm_of("offer", person).name
        arms[arm] = arms.get(arm, 0) + 1
        shown = offer(answer)
        if arm == CONTROL:
            assert shown is None  # held out: nothing where the banner would have been
            assert await log_of(server, person) == [("held_out", CONTROL, "offer")]
        else:
            assert shown is not None and shown["variant"] == "b" and shown["text"] == "Livraison offerte ce mois-ci"
            await beacon.send({"type": "impression", "url": BASE + "/demo/", "props": {"campaign": "offer"}})
            await beacon.send({"type": "conversion", "url": BASE + "/demo/", "props": {"campaign": "offer"}})
            # Not served after the conversion: hidden for good after one (the campaign's default).
            assert await log_of(server, person) == [
                ("served", "b", "offer"),
                ("impression", "b", "offer"),
                ("served", "b", "offer"),
                ("conversion", "b", "offer"),
            ]
    assert set(arms) == {CONTROL, "b"}


async def test_a_merged_person_keeps_the_survivors_arm(server: Server) -> None:
    await server.load_programme(PROGRAMME)
    laptop = server.beacon()
    await laptop.page("/demo/")
    await laptop.form("newsletter", email="marc@example.com")
    known = await person_id(server, laptop)
    survivor_arm = experiment(server).arm_of("offer", known).name
    # A new device whose anonymous person falls in the other arm.
    while True:
        phone = server.beacon()
        before = offer(await phone.page("/demo/"))
        anonymous = await person_id(server, phone)
        if experiment(server).arm_of("offer", anonymous).name != survivor_arm:
            break
    assert (before is None) == (survivor_arm != CONTROL)
    await phone.form("newsletter", email="marc@example.com")
    assert await person_id(server, phone) == known
    after = offer(await phone.page("/demo/"))
    assert (after is None) == (survivor_arm == CONTROL)
    log = await log_of(server, known)
    assert log[-1] == (("held_out", CONTROL, "offer") if survivor_arm == CONTROL else ("served", "b", "offer"))
    # In the results the merged person is one person, in the arm they met first (the laptop's).
    report = await experiment_report(server.runtime.store, server.runtime.sites.get("demo"), "offer")
    people = {arm.name: arm.people for arm in report.arms}
    assert people[survivor_arm] >= 1


async def test_the_report_counts_goals_within_the_window(server: Server) -> None:
    await server.load_programme(PROGRAMME)
    site = server.runtime.sites.get("demo")
    people: dict[str, list[tuple[Beacon, int]]] = {CONTROL: [], "b": []}
    while min(len(found) for found in people.values()) < 3:
        beacon = server.beacon()
        await beacon.page("/demo/")
        person = await person_id(server, beacon)
        people[experiment(server).arm_of("offer", person).name].append((beacon, person))
    for beacon, _ in people["b"][:2]:
        await beacon.send({"type": "conversion", "url": BASE + "/demo/", "props": {"campaign": "offer"}})
    won = people[CONTROL][0][1]
    await record_outcome(server.runtime.store, site, won, Outcome("won", value=100.0), actor="test", now=server.clock())
    late = people[CONTROL][1][1]
    server.clock.advance(15 * DAY)
    await record_outcome(
        server.runtime.store, site, late, Outcome("won", value=100.0), actor="test", now=server.clock()
    )

    body = await server.api("/api/campaigns/offer/experiment", role="marketing")
    arms = {arm["name"]: arm for arm in body["arms"]}
    control, b = arms[CONTROL], arms["b"]
    assert body["reference"] == CONTROL and body["running"] and body["window_days"] == 14
    assert body["goals"] == ["conversion", "won"]
    assert (control["conversions"], b["conversions"]) == (1, 2)
    assert control["share"] == 50 and control["uplift"] is None
    assert b["uplift"] == pytest.approx(2 / b["people"] - 1 / control["people"])
    assert b["uplift_low"] < b["uplift"] < b["uplift_high"]
    assert b["rate_low"] <= b["rate"] <= b["rate_high"]


async def test_the_api_names_what_is_missing(server: Server) -> None:
    await server.load_programme(PROGRAMME)
    body = await server.api("/api/campaigns/nothing/experiment", expect=404, role="marketing")
    assert body["field"] == "campaign_id"
    await server.api("/api/campaigns/offer/experiment", expect=403, role="sales")


async def test_ending_a_variant_and_keeping_the_winner_publish_audited_changes(server: Server) -> None:
    three_arms = PROGRAMME.replace("control = 50", "control = 20").replace("share = 50", "share = 40")
    three_arms += '\n[[campaigns.experiment.variants]]\nid = "c"\nshare = 20\ntext = "Port gratuit"\n'
    await server.load_programme(three_arms)
    store, now = server.runtime.store, server.clock()

    def site() -> Any:
        return server.runtime.sites.get("demo")

    with pytest.raises(BadRequest):
        await end_variant(store, site(), "offer", "original", base_version=site().version, author="t", now=now)
    published = await end_variant(store, site(), "offer", "c", base_version=site().version, author="t", now=now)
    await server.runtime.sites.refresh()
    assert [(arm.name, arm.share) for arm in experiment(server).arms] == [(CONTROL, 20), ("b", 40), ("original", 40)]
    await end_variant(store, site(), "offer", CONTROL, base_version=published.version, author="t", now=now)
    await server.runtime.sites.refresh()
    assert [arm.name for arm in experiment(server).arms] == ["b", "original"]

    with pytest.raises(BadRequest):
        await keep_variant(store, site(), "offer", CONTROL, base_version=site().version, author="t", now=now)
    await keep_variant(store, site(), "offer", "b", base_version=site().version, author="t", now=now)
    await server.runtime.sites.refresh()
    table = campaign_tables(site().programme.source)["offer"]
    assert "experiment" not in table and table["text"] == "Livraison offerte ce mois-ci"
    assert "offer" not in site().programme.experiments
    with pytest.raises(NoExperiment):
        await keep_variant(store, site(), "offer", "b", base_version=site().version, author="t", now=now)

    async def actions(q: Any) -> list[str]:
        rows = await q.conn.fetchall("SELECT action FROM audit_log ORDER BY id")
        return [row["action"] for row in rows]

    logged = await store.read(actions)
    assert logged.count("experiment_end") == 2 and logged.count("experiment_keep") == 1


async def test_ending_and_keeping_at_once_on_one_version_publish_one_and_refuse_the_other(server: Server) -> None:
    await server.load_programme(PROGRAMME)
    site = server.runtime.sites.get("demo")
    store, now, base = server.runtime.store, server.clock(), site.version
    results = await asyncio.gather(
        end_variant(store, site, "offer", "b", base_version=base, author="t", now=now),
        keep_variant(store, site, "offer", "b", base_version=base, author="t", now=now),
        return_exceptions=True,
    )
    assert sorted(type(result).__name__ for result in results) == ["Published", "StalePublish"]
    published = next(result for result in results if isinstance(result, Published))
    assert published.version == base + 1
    assert any(isinstance(result, StalePublish) and result.field == "base_version" for result in results)
    logged = await store.read(
        lambda q: q.conn.fetchall("SELECT action FROM audit_log WHERE action LIKE 'experiment_%'")
    )
    assert len(logged) == 1
