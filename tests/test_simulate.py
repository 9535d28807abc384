"""services.simulate: a simulated history written through the ingest pipeline, outcomes and bots included."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from tracker.app import DEMO_SITE
from tracker.domain.planted import DEMO_PLAN, Truth
from tracker.domain.simulation import CRAWLERS
from tracker.domain.sites import Site
from tracker.services.abuse import agent_verdict
from tracker.services.outcomes import outcomes_of
from tracker.services.simulate import ACTOR, simulate
from tracker.services.sites import compile_site, save_site
from tracker.store import Queries, Store, open_store

from .conftest import START, Server
from .test_simulation import TRIPLE_C, ratio_holds

# Half the leads would buy with white paper C: few people give enough sales to see it.
PLAN = replace(TRIPLE_C, base=0.2)
PEOPLE, DAYS, SEED = 250, 60, 4
FEW = 60  # enough for a sale or two


async def run(store: Store, site: Site, progress: list[tuple[int, int]] | None = None, people: int = PEOPLE) -> Truth:
    seen = progress.append if progress is not None else None
    return await simulate(
        store,
        site,
        PLAN,
        now=START,
        seed=SEED,
        people=people,
        days=DAYS,
        batch=300,
        progress=(lambda done, total: seen((done, total))) if seen is not None else None,
    )


async def tally(store: Store, site_id: int) -> dict[str, Any]:
    async def read(q: Queries) -> dict[str, Any]:
        async def rows(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in await q.conn.fetchall(sql, site_id)]

        leads = await rows(
            "SELECT p.email,"
            " EXISTS (SELECT 1 FROM event_rows e WHERE e.person_id = p.id AND e.type = 'download'"
            "  AND e.url LIKE '%livre-blanc-c%'),"
            " EXISTS (SELECT 1 FROM events e WHERE e.person_id = p.id AND e.type = 'outcome' AND e.name = 'won')"
            " FROM persons p WHERE p.site_id = ? AND p.email IS NOT NULL"
        )
        return {
            "leads": {str(email): (bool(did), bool(won)) for email, did, won in leads},
            "events": await rows(
                "SELECT e.type, COUNT(*) FROM events e JOIN persons p ON p.id = e.person_id"
                " WHERE p.site_id = ? GROUP BY e.type ORDER BY e.type"
            ),
            "bots": await rows(
                "SELECT v.bot, COUNT(*) FROM visitors v WHERE v.site_id = ? AND v.bot IS NOT NULL GROUP BY v.bot"
            ),
            "ignored": dict(
                await rows("SELECT reason, SUM(requests) FROM ignored_traffic WHERE site_id = ? GROUP BY reason")
            ),
            "audited": await rows("SELECT actor, COUNT(*) FROM audit_log WHERE site_id = ? GROUP BY actor"),
        }

    return await store.read(read)


async def test_the_history_matches_its_truth_outcomes_bots_and_all(server: Server) -> None:
    site = server.runtime.sites.get(DEMO_SITE)
    assert site is not None
    progress: list[tuple[int, int]] = []
    truth = await run(server.runtime.store, site, progress)
    seen = await tally(server.runtime.store, site.id)

    # Every lead of the truth is a lead of the site, won exactly when the truth says so.
    planted = {lead.email: ("wp-c" in lead.did, truth.won(lead)) for lead in truth.leads}
    assert {email: seen["leads"][email] for email in planted} == planted
    events = dict(seen["events"])
    assert events["outcome"] == truth.outcomes and seen["audited"] == [(ACTOR, truth.outcomes)]
    assert events["page"] + events["download"] + events["form"] < truth.events  # the scraper's were taken back
    # The planted lift shows in the stored data, within what 250 people can tell (test_simulation
    # checks on thousands that it tells a lift of 3 from none).
    won_did = sum(won for did, won in planted.values() if did)
    won_not = sum(won for did, won in planted.values() if not did)
    did = sum(did for did, _ in planted.values())
    assert ratio_holds(3.0, won_did, did, won_not, len(planted) - did)

    # Bots: the scraper caught by its pace and quarantined, crawlers counted and never stored.
    assert seen["bots"] == [("too-fast", 1)]
    crawlers = {agent_verdict(agent) for agent in CRAWLERS}
    assert seen["ignored"]["too-fast"] > 0 and seen["ignored"]["internal"] > 0
    scraped = seen["ignored"]["too-fast"] + 1  # its first request was taken in, then taken back
    assert sum(seen["ignored"].get(reason, 0) for reason in crawlers) == truth.bots - scraped
    # Written in units, saying how far it got.
    assert [done for done, _ in progress] == sorted(done for done, _ in progress) and progress[-1][0] == progress[-1][1]
    assert len(progress) > 1


async def test_outcomes_are_stored_as_sales_records_them(server: Server) -> None:
    site = server.runtime.sites.get(DEMO_SITE)
    assert site is not None
    truth = await run(server.runtime.store, site, people=FEW)
    won = next(lead for lead in truth.leads if truth.won(lead))
    person = await server.runtime.store.read(lambda q: q.person_by_email(site.id, won.email))
    assert person is not None
    outcomes = await server.runtime.store.read(lambda q: outcomes_of(q, person.id))
    assert [o["kind"] for o in outcomes] == ["contacted", "meeting", "won"]
    assert outcomes[-1]["value"] == won.value and {o["actor"] for o in outcomes} == {ACTOR}
    lead = await server.api(f"/api/leads/{person.id}")
    assert lead["email"] == won.email


async def test_the_true_score_is_the_programmes_engagement_when_nothing_decayed(server: Server) -> None:
    site = server.runtime.sites.get(DEMO_SITE)
    assert site is not None
    # DEMO_PLAN's true points are the seed programme's; 20 days leave its 30-day decay no time to act.
    truth = await simulate(server.runtime.store, site, DEMO_PLAN, now=START, seed=SEED, people=FEW, days=20)
    scores = {}
    for lead in truth.leads:
        person = await server.runtime.store.read(lambda q, email=lead.email: q.person_by_email(site.id, email))
        assert person is not None
        scores[lead.email] = person.scoring.values.get("engagement", 0.0)
    assert scores == {lead.email: lead.score for lead in truth.leads}
    assert len({score >= 20 for score in scores.values()}) == 2  # leads on both sides of the planted threshold


async def test_the_same_seed_writes_the_same_history_on_any_store(server: Server, tmp_path: Path) -> None:
    site = server.runtime.sites.get(DEMO_SITE)
    assert site is not None
    truth = await run(server.runtime.store, site, people=FEW)
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    await other.open()
    try:
        record = await server.runtime.store.read(lambda q: q.site_by_key(DEMO_SITE))
        assert record is not None
        copy = compile_site(
            await save_site(other, DEMO_SITE, name="copy", origins=None, programme=record.programme, now=START)
        )
        assert await run(other, copy, people=FEW) == truth
        assert await tally(other, copy.id) == await tally(server.runtime.store, site.id)
    finally:
        await other.close()
