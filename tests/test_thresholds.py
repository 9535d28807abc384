"""Thresholds agreed by marketing and sales (services/thresholds.py): proposals, two-sided approval,
rejection, withdrawal, superseding, racing approvals and the publish they end in."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tracker.domain.programme.threshold_edit import SQL_BELOW_MQL, with_thresholds
from tracker.services import thresholds
from tracker.services.programmes import Agreement, StalePublish, publish
from tracker.services.thresholds import Actor, InvalidThresholds, ProposalClosed
from tracker.store import ProposalRecord

from .conftest import SEED_GRID, Server

MARKETING = Actor("mia@example.com", "user:1", "marketing", 1)
SALES = Actor("sam@example.com", "user:2", "sales", 2)
SALES_TOO = Actor("sue@example.com", "user:3", "sales", 3)
ADMIN = Actor("ada@example.com", "user:4", "admin", 4)


async def propose(server: Server, actor: Actor = MARKETING, **fields: str) -> ProposalRecord:
    form = {"score": "engagement", "mql": "", "sql": "14", "reason": "reps say 12 is too early", **fields}
    return await thresholds.propose(server.runtime.store, "demo", actor, now=server.clock(), **form)


async def approve(server: Server, proposal: ProposalRecord, actor: Actor) -> ProposalRecord:
    return await thresholds.approve(server.runtime.store, "demo", proposal.id, actor, now=server.clock())


async def active(server: Server) -> tuple[float | None, float | None]:
    await server.runtime.sites.refresh()
    site = server.runtime.sites.get("demo")
    assert site is not None
    return site.programme.thresholds()["engagement"]


async def audit(server: Server) -> list[dict[str, Any]]:
    site = server.runtime.sites.get("demo")
    assert site is not None
    return list(reversed(await server.runtime.store.read(lambda q: q.audit_entries(site.id, 100))))


async def test_marketing_alone_changes_nothing_and_sales_makes_it_active(server: Server) -> None:
    proposal = await propose(server)
    assert (proposal.status, proposal.marketing_by, proposal.sales_by) == ("pending", MARKETING.who, None)
    assert (proposal.before, proposal.after) == ((8.0, 12.0), (8.0, 14.0))
    assert await active(server) == (8.0, 12.0)
    beacon = server.beacon()
    await beacon.form("newsletter", email="early@example.com")
    await beacon.download("/demo/files/livre-blanc-c.pdf")  # 12: sales-ready at the old threshold
    assert (await server.person_of(beacon))["stage"] == "sql"

    applied = await approve(server, proposal, SALES)
    assert (applied.status, applied.sales_by) == ("applied", SALES.who) and (applied.version or 0) > 0
    assert await active(server) == (8.0, 14.0)
    # The next /collect scores against the new threshold: 12 is not enough any more, 14 is.
    late = server.beacon()
    await late.form("newsletter", email="late@example.com")
    await late.download("/demo/files/livre-blanc-c.pdf")
    assert (await server.person_of(late))["stage"] == "mql"
    await late.page("/demo/blog/qualite/precision")
    lead = await server.person_of(late)
    assert (lead["scores"]["engagement"], lead["stage"]) == (14, "sql")


async def test_the_published_source_keeps_its_comments(server: Server) -> None:
    await approve(server, await propose(server), SALES)
    record = await server.runtime.store.read(lambda q: q.site_by_key("demo"))
    assert record is not None
    assert "sql = 14                      # agreed with sales: change it only with them" in record.programme
    assert record.programme == with_thresholds(SEED_GRID, "engagement", (8.0, 14.0))


async def test_every_step_is_audited_with_before_and_after(server: Server) -> None:
    proposal = await propose(server, ADMIN)
    await approve(server, proposal, MARKETING)
    await approve(server, proposal, SALES)
    steps = [(e["action"], e["actor"], e["subject"]) for e in await audit(server) if e["action"] != "programme_publish"]
    assert steps == [
        ("threshold_proposed", "user:4", proposal.id),
        ("threshold_approved", "user:1", proposal.id),
        ("threshold_approved", "user:2", proposal.id),
        ("threshold_applied", "user:2", proposal.id),
    ]
    applied = (await audit(server))[-1]["detail"]
    assert applied["before"] == {"mql": 8.0, "sql": 12.0} and applied["after"] == {"mql": 8.0, "sql": 14.0}
    assert (applied["marketing"], applied["sales"]) == (MARKETING.who, SALES.who)


async def test_an_admin_is_neither_side(server: Server) -> None:
    proposal = await propose(server, ADMIN)
    assert (proposal.marketing_by, proposal.sales_by) == (None, None)
    with pytest.raises(thresholds.Forbidden):
        await approve(server, proposal, ADMIN)
    assert (await approve(server, proposal, SALES)).status == "pending"
    with pytest.raises(ProposalClosed, match="already approved"):
        await approve(server, proposal, SALES_TOO)
    assert await active(server) == (8.0, 12.0)


async def test_one_person_cannot_approve_for_both_sides(server: Server) -> None:
    proposal = await propose(server)  # approved for marketing by its proposer
    moved_to_sales = Actor(MARKETING.who, MARKETING.actor, "sales", MARKETING.user_id)
    with pytest.raises(ProposalClosed, match="both sides"):
        await approve(server, proposal, moved_to_sales)
    assert await active(server) == (8.0, 12.0)


async def test_either_side_rejects_with_a_reason(server: Server) -> None:
    proposal = await propose(server)
    with pytest.raises(InvalidThresholds) as refused:
        await thresholds.reject(server.runtime.store, "demo", proposal.id, SALES, reason=" ", now=server.clock())
    assert refused.value.field == "reason"
    rejected = await thresholds.reject(
        server.runtime.store, "demo", proposal.id, SALES, reason="we would lose leads", now=server.clock()
    )
    assert (rejected.status, rejected.decided_by, rejected.decision_reason) == (
        "rejected",
        SALES.who,
        "we would lose leads",
    )
    with pytest.raises(ProposalClosed, match="decided already"):
        await approve(server, proposal, SALES)
    assert await active(server) == (8.0, 12.0)
    assert (await audit(server))[-1]["action"] == "threshold_rejected"


async def test_only_the_proposer_withdraws(server: Server) -> None:
    proposal = await propose(server)
    store = server.runtime.store
    with pytest.raises(thresholds.Forbidden):
        await thresholds.withdraw(store, "demo", proposal.id, SALES, now=server.clock())
    withdrawn = await thresholds.withdraw(store, "demo", proposal.id, MARKETING, now=server.clock())
    assert withdrawn.status == "withdrawn"
    assert await thresholds.pending(store, proposal.site_id) == []
    assert [p.id for p in await thresholds.history(store, proposal.site_id)] == [proposal.id]
    with pytest.raises(ProposalClosed):
        await approve(server, proposal, SALES)


async def test_a_proposal_against_changed_thresholds_is_superseded(server: Server) -> None:
    raise_sql = await propose(server)
    raise_mql = await propose(server, SALES, mql="9", sql="")
    assert (raise_mql.sales_by, raise_mql.after) == (SALES.who, (9.0, 12.0))
    await approve(server, raise_sql, SALES)
    store = server.runtime.store
    assert await thresholds.pending(store, raise_sql.site_id) == []
    superseded = await store.read(lambda q: q.proposal(raise_sql.site_id, raise_mql.id))
    assert superseded is not None and superseded.status == "superseded"
    with pytest.raises(ProposalClosed, match="superseded"):
        await approve(server, raise_mql, MARKETING)
    assert await active(server) == (8.0, 14.0)


async def test_a_change_made_elsewhere_supersedes_on_approval(server: Server) -> None:
    proposal = await propose(server)
    record = await server.runtime.store.read(lambda q: q.site_by_key("demo"))
    assert record is not None
    await publish(
        server.runtime.store,
        "demo",
        with_thresholds(record.programme, "engagement", (8.0, 20.0)),
        base_version=record.version,
        author="test",
        comment="agreed in a meeting",
        now=server.clock(),
        agreement=Agreement("anne", "bruno"),
    )
    with pytest.raises(ProposalClosed, match="superseded"):
        await approve(server, proposal, SALES)
    assert await active(server) == (8.0, 20.0)


async def test_racing_approvals_publish_once(server: Server) -> None:
    proposal = await propose(server, ADMIN)
    version = (await server.runtime.store.read(lambda q: q.site_by_key("demo"))).version  # type: ignore[union-attr]
    results = await asyncio.gather(
        approve(server, proposal, MARKETING), approve(server, proposal, SALES), return_exceptions=True
    )
    assert sorted(r.status for r in results if isinstance(r, ProposalRecord)) == ["applied", "pending"]
    publishes = [e for e in await audit(server) if e["action"] == "programme_publish"]
    assert len(publishes) == 1
    assert (await server.runtime.store.read(lambda q: q.site_by_key("demo"))).version == version + 1  # type: ignore[union-attr]


async def test_two_people_of_one_side_racing_end_as_if_sequential(server: Server) -> None:
    proposal = await propose(server)
    results = await asyncio.gather(
        approve(server, proposal, SALES), approve(server, proposal, SALES_TOO), return_exceptions=True
    )
    applied = [r for r in results if isinstance(r, ProposalRecord)]
    refused = [r for r in results if isinstance(r, ProposalClosed)]
    assert len(applied) == 1 and applied[0].status == "applied" and len(refused) == 1
    assert len([e for e in await audit(server) if e["action"] == "programme_publish"]) == 1


async def test_a_publish_in_between_is_not_lost(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone publishes a token change while the approval is being applied: the threshold change
    is redone on top of it, and both are in the active programme."""
    proposal = await propose(server)
    store = server.runtime.store

    async def meanwhile(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(thresholds, "publish", publish)
        record = await store.read(lambda q: q.site_by_key("demo"))
        assert record is not None
        token_change = record.programme.replace("wp_general = 2", "wp_general = 3")
        await publish(store, "demo", token_change, base_version=record.version, author="x", comment="", now=0.0)
        return await publish(*args, **kwargs)

    monkeypatch.setattr(thresholds, "publish", meanwhile)
    assert (await approve(server, proposal, SALES)).status == "applied"
    record = await store.read(lambda q: q.site_by_key("demo"))
    assert record is not None and "wp_general = 3" in record.programme and "sql = 14 " in record.programme


async def test_a_failed_publish_keeps_nothing_of_the_approval(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    proposal = await propose(server)

    async def always_stale(*args: Any, **kwargs: Any) -> Any:
        raise StalePublish("someone published meanwhile", field="base_version")

    monkeypatch.setattr(thresholds, "publish", always_stale)
    before = await audit(server)
    with pytest.raises(StalePublish):
        await approve(server, proposal, SALES)
    again = await server.runtime.store.read(lambda q: q.proposal(proposal.site_id, proposal.id))
    assert again is not None and (again.status, again.sales_by) == ("pending", None)
    assert await audit(server) == before
    monkeypatch.undo()
    assert (await approve(server, proposal, SALES)).status == "applied"


async def test_an_invalid_proposal_is_not_stored(server: Server) -> None:
    with pytest.raises(InvalidThresholds) as refused:
        await propose(server, sql="11", mql="12")
    assert refused.value.errors == {"sql": SQL_BELOW_MQL}
    assert await server.count("threshold_proposals") == 0


async def test_an_apply_that_never_finished_is_taken_up_again(server: Server) -> None:
    """The process died between the claim and the publish: after CLAIM_SECONDS either side applies it."""
    proposal = await propose(server)
    store = server.runtime.store
    await store.write(lambda q: q.approve_proposal(proposal.id, "sales", SALES.who, server.clock()))
    await store.write(lambda q: q.set_proposal_status(proposal.id, "applying", by=SALES.who, at=server.clock()))
    with pytest.raises(ProposalClosed, match="being applied"):
        await approve(server, proposal, MARKETING)
    with pytest.raises(ProposalClosed, match="being applied"):
        await thresholds.reject(store, "demo", proposal.id, SALES, reason="too late", now=server.clock())
    server.clock.advance(thresholds.CLAIM_SECONDS + 1)
    applied = await approve(server, proposal, MARKETING)
    assert (applied.status, applied.marketing_by, applied.sales_by) == ("applied", MARKETING.who, SALES.who)
    assert await active(server) == (8.0, 14.0)
