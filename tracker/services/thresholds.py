"""Thresholds agreed by marketing and sales (seed 004): proposals, two-sided approval, applying.

Anyone signed in proposes new MQL and/or SQL thresholds for one score; the proposal takes
effect when one marketing user and one sales user have approved it (the proposer approves for
their own side).  The second approval publishes the active programme with the new values
through ``programmes.publish`` with both names as the ``Agreement``.

Races end as if sequential: deciding on a proposal locks its row, and the approval that
completes it moves it to "applying" in that same transaction, so exactly one approval
publishes.  The publish names the version that was active when approving; if someone
published in between, it is redone once on the new active programme.  A proposal whose
thresholds changed since it was made is superseded: the other side agreed to a change from
values that are no longer there.  Every step is in the audit log with before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker.domain.programme.load import Programme, load_programme
from tracker.domain.programme.threshold_edit import (
    REASON_LIMIT,
    REASON_NEEDED,
    InvalidProposal,
    read_change,
    with_thresholds,
)
from tracker.domain.programme.thresholds import NO_THRESHOLDS, Thresholds, score_changes, threshold_changes
from tracker.domain.roles import THRESHOLD_SIDES
from tracker.errors import Forbidden, HTTPError, NotFound
from tracker.services.programmes import CLI, Agreement, StalePublish, ThresholdsNeedAgreement, publish
from tracker.store import ProposalRecord, Queries, SiteRecord, Store

OPEN = ("pending", "applying")
DECIDED = ("applied", "rejected", "withdrawn", "superseded")
HISTORY_LIMIT = 50
# An "applying" proposal whose publish never finished (the process died) may be applied again
# by either side after this long; a publish takes milliseconds.
CLAIM_SECONDS = 120.0
# Messages are catalog ids: the console shows them translated.
NO_SUCH_PROPOSAL = "No such proposal."
DECIDED_ALREADY = "This proposal was decided already."
BEING_APPLIED = "This proposal is being applied right now."
SIDE_APPROVED = "Your side has already approved this proposal."
BOTH_SIDES = "One person cannot approve for both sides."
SUPERSEDED = "The thresholds changed since this was proposed: it is superseded."
NOT_THE_PROPOSER = "Only the person who proposed it can withdraw it."
NOT_A_SIDE = "Thresholds are agreed by marketing and sales: only they decide."


class InvalidThresholds(HTTPError):
    """The proposal form is wrong; ``errors`` names each field."""

    status = 400
    code = "invalid_proposal"

    def __init__(self, errors: Mapping[str, str]) -> None:
        first = next(iter(errors))
        super().__init__(errors[first], field=first, errors=dict(errors))
        self.errors = dict(errors)


class ProposalClosed(HTTPError):
    """The proposal cannot take this step any more (decided, being applied, already approved)."""

    status = 409
    code = "proposal_closed"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts on a proposal."""

    who: str  # the name people read and the Agreement records: a user's e-mail
    actor: str  # the audit log's actor: "user:<id>"
    role: str
    user_id: int | None = None

    @property
    def side(self) -> str | None:
        return self.role if self.role in THRESHOLD_SIDES else None


def other_side(side: str) -> str:
    return THRESHOLD_SIDES[1 - THRESHOLD_SIDES.index(side)]


def current_thresholds(record: SiteRecord) -> dict[str, Thresholds]:
    return load_programme(record.programme).thresholds() if record.programme else {}


# ---- reading ------------------------------------------------------------------------------


async def pending(store: Store, site_id: int) -> list[ProposalRecord]:
    """Proposals waiting for a decision (or being applied), newest first: what dashboards show."""
    return await store.read(lambda q: q.proposals(site_id, OPEN, HISTORY_LIMIT))


async def history(store: Store, site_id: int, limit: int = HISTORY_LIMIT) -> list[ProposalRecord]:
    return await store.read(lambda q: q.proposals(site_id, DECIDED, limit))


# ---- proposing, rejecting, withdrawing -----------------------------------------------------


async def propose(
    store: Store, site_key: str, actor: Actor, *, score: str, mql: str, sql: str, reason: str, now: float
) -> ProposalRecord:
    """Record a proposal against the active programme's thresholds; the proposer's side approves it."""

    async def unit(q: Queries) -> ProposalRecord:
        site = await _site(q, site_key)
        try:
            change = read_change(current_thresholds(site), score, mql, sql, reason)
        except InvalidProposal as exc:
            raise InvalidThresholds(exc.errors) from None
        proposal_id = await q.insert_proposal(
            site.id, change.score, change.before, change.after, change.reason, actor.who, actor.user_id, now
        )
        if actor.side is not None:
            await q.approve_proposal(proposal_id, actor.side, actor.who, now)
        detail = {**_change(change.score, change.before, change.after), "reason": change.reason, "side": actor.side}
        await q.insert_audit(site.id, now, actor.actor, "threshold_proposed", proposal_id, detail)
        return await _reread(q, site.id, proposal_id)

    return await store.write(unit)


async def reject(
    store: Store, site_key: str, proposal_id: int, actor: Actor, *, reason: str, now: float
) -> ProposalRecord:
    """Either side turns a proposal down, saying why."""
    side = _side_of(actor)
    reason = reason.strip()
    if not reason or len(reason) > REASON_LIMIT:
        raise InvalidThresholds({"reason": REASON_NEEDED})

    async def unit(q: Queries) -> ProposalRecord:
        site = await _site(q, site_key)
        proposal = await _waiting(q, site.id, proposal_id)
        await q.set_proposal_status(proposal.id, "rejected", by=actor.who, at=now, reason=reason)
        detail = {**_change(proposal.score, proposal.before, proposal.after), "reason": reason, "side": side}
        await q.insert_audit(site.id, now, actor.actor, "threshold_rejected", proposal.id, detail)
        return await _reread(q, site.id, proposal.id)

    return await store.write(unit)


async def withdraw(store: Store, site_key: str, proposal_id: int, actor: Actor, *, now: float) -> ProposalRecord:
    """The proposer takes a proposal back before it is decided."""

    async def unit(q: Queries) -> ProposalRecord:
        site = await _site(q, site_key)
        proposal = await _waiting(q, site.id, proposal_id)
        if actor.user_id is None or proposal.proposer_id != actor.user_id:
            raise Forbidden(NOT_THE_PROPOSER, field="proposal")
        await q.set_proposal_status(proposal.id, "withdrawn", by=actor.who, at=now)
        detail = _change(proposal.score, proposal.before, proposal.after)
        await q.insert_audit(site.id, now, actor.actor, "threshold_withdrawn", proposal.id, detail)
        return await _reread(q, site.id, proposal.id)

    return await store.write(unit)


# ---- approving and applying ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Claim:
    """What the approving transaction decided: wait for the other side, apply, or superseded."""

    proposal: ProposalRecord
    active: Active | None  # set when this approval completes the proposal: the programme to change


async def approve(store: Store, site_key: str, proposal_id: int, actor: Actor, *, now: float) -> ProposalRecord:
    """Approve for the actor's side; the second side's approval applies the proposal.

    Raises ``ProposalClosed`` when the proposal was decided, superseded, or already approved by
    this side, and whatever the publish raised (nothing is then kept of this approval).
    """
    side = _side_of(actor)

    async def claim(q: Queries) -> _Claim:
        site = await _site(q, site_key)
        proposal = await _open(q, site.id, proposal_id)
        resuming = proposal.status == "applying"
        if resuming and (proposal.decided_at or 0.0) > now - CLAIM_SECONDS:
            raise ProposalClosed(BEING_APPLIED, field="proposal")
        if not resuming:
            if proposal.approved_by(side) is not None:
                raise ProposalClosed(SIDE_APPROVED, field="proposal")
            if proposal.approved_by(other_side(side)) == actor.who:
                raise ProposalClosed(BOTH_SIDES, field="proposal")
            if current_thresholds(site).get(proposal.score) != proposal.before:
                return _Claim(await _supersede(q, site.id, proposal, now), None)
            await q.approve_proposal(proposal.id, side, actor.who, now)
            if proposal.approved_by(other_side(side)) is None:
                detail = {**_change(proposal.score, proposal.before, proposal.after), "side": side}
                await q.insert_audit(site.id, now, actor.actor, "threshold_approved", proposal.id, detail)
                return _Claim(await _reread(q, site.id, proposal.id), None)
        await q.set_proposal_status(proposal.id, "applying", by=actor.who, at=now)
        return _Claim(await _reread(q, site.id, proposal.id), await _active(q, site))

    claimed = await store.write(claim)
    if claimed.proposal.status == "superseded":
        raise ProposalClosed(SUPERSEDED, field="proposal")
    if claimed.active is None:
        return claimed.proposal
    return await _apply(store, site_key, claimed.proposal, claimed.active, actor, side, now)


class _Superseded(Exception):
    pass


async def _apply(
    store: Store, site_key: str, proposal: ProposalRecord, active: Active, actor: Actor, side: str, now: float
) -> ProposalRecord:
    site = active.site
    agreement = Agreement(marketing=proposal.marketing_by or "", sales=proposal.sales_by or "")
    try:
        before, version = await _publish(store, site_key, proposal, active, agreement, actor, now)
    except _Superseded:

        async def superseded(q: Queries) -> ProposalRecord:
            return await _supersede(q, site.id, proposal, now)

        await store.write(superseded)
        raise ProposalClosed(SUPERSEDED, field="proposal") from None
    except BaseException:
        # A failed publish keeps nothing of this approval: the proposal waits for it again.
        async def undo(q: Queries) -> None:
            await q.approve_proposal(proposal.id, side, None, None)
            await q.set_proposal_status(proposal.id, "pending", by=None, at=None)

        await store.write(undo)
        raise

    async def applied(q: Queries) -> ProposalRecord:
        await q.set_proposal_status(proposal.id, "applied", by=actor.who, at=now, version=version)
        change = _change(proposal.score, before, proposal.after)
        await q.insert_audit(site.id, now, actor.actor, "threshold_approved", proposal.id, {**change, "side": side})
        detail = {**change, "marketing": agreement.marketing, "sales": agreement.sales, "version": version}
        await q.insert_audit(site.id, now, actor.actor, "threshold_applied", proposal.id, detail)
        await supersede_stale(q, site_key, now)
        return await _reread(q, site.id, proposal.id)

    return await store.write(applied)


async def _publish(
    store: Store,
    site_key: str,
    proposal: ProposalRecord,
    active: Active,
    agreement: Agreement,
    actor: Actor,
    now: float,
) -> tuple[Thresholds, int]:
    """Publish the active programme with the proposal's thresholds: (thresholds before, version).

    The first attempt is based on the version active when approving; if someone published
    since, the proposal applies to what they published, once.
    """
    for attempt in range(2):
        in_force = current_thresholds(active.site).get(proposal.score)
        if in_force == proposal.after:  # already so (an interrupted apply that did publish)
            return proposal.before, active.version
        if in_force != proposal.before:
            raise _Superseded
        source = with_thresholds(active.site.programme, proposal.score, proposal.after)
        comment = f"threshold proposal #{proposal.id}: {_words(proposal)} — {proposal.reason}"
        try:
            published = await publish(
                store,
                site_key,
                source,
                base_version=active.version,
                author=actor.actor,
                comment=comment,
                now=now,
                agreement=agreement,
            )
        except StalePublish:
            if attempt:
                raise
            active = await store.read(lambda q: _active_of(q, site_key))
            continue
        return proposal.before, published.version
    raise AssertionError("unreachable")


# ---- the CLI's agreed changes --------------------------------------------------------------


async def publish_agreed(
    store: Store,
    site_key: str,
    programme: Programme,
    agreement: Agreement | None,
    *,
    author: str,
    comment: str,
    now: float,
) -> list[str]:
    """Publish ``programme`` over the active version (``tracker programme load``); its threshold
    changes, if any: refused without ``agreement``, else kept as applied proposals, one per score,
    audited as a console approval is.  Returns the changes in words."""
    active = await store.read(lambda q: _active_of(q, site_key))
    old = load_programme(active.site.programme) if active.site.programme else None
    before = old.thresholds() if old is not None else None
    changes = threshold_changes(old, programme) if old is not None else []
    try:
        published = await publish(
            store,
            site_key,
            programme.source,
            base_version=active.version,
            author=author,
            comment=comment,
            now=now,
            agreement=agreement,
            origin=CLI,
        )
    except ThresholdsNeedAgreement as exc:
        raise ThresholdsNeedAgreement(exc.message, field="thresholds", changes=changes) from None
    if before is None or agreement is None or not changes:
        return changes
    after = programme.thresholds()

    async def unit(q: Queries) -> None:
        for score in sorted(set(before) | set(after)):
            was, now_is = before.get(score, NO_THRESHOLDS), after.get(score, NO_THRESHOLDS)
            if was == now_is:
                continue
            proposal_id = await q.insert_proposal(active.site.id, score, was, now_is, comment, author, None, now)
            await q.approve_proposal(proposal_id, "marketing", agreement.marketing, now)
            await q.approve_proposal(proposal_id, "sales", agreement.sales, now)
            await q.set_proposal_status(proposal_id, "applied", by=author, at=now, version=published.version)
            detail = {**_change(score, was, now_is), "reason": comment, "marketing": agreement.marketing}
            detail.update(sales=agreement.sales, version=published.version)
            await q.insert_audit(active.site.id, now, author, "threshold_applied", proposal_id, detail)
        await supersede_stale(q, site_key, now)

    await store.write(unit)
    return changes


async def supersede_stale(q: Queries, site_key: str, now: float) -> int:
    """Mark superseded every open proposal of the site made against thresholds no longer in force."""
    site = await _site(q, site_key)
    in_force = current_thresholds(site)
    count = 0
    for proposal in await q.proposals(site.id, ("pending",), 1000):
        if in_force.get(proposal.score) != proposal.before:
            await _supersede(q, site.id, proposal, now)
            count += 1
    return count


# ---- helpers ----------------------------------------------------------------------------


async def _site(q: Queries, site_key: str) -> SiteRecord:
    site = await q.site_by_key(site_key)
    if site is None:
        raise NotFound(f"no site {site_key!r}", field="site")
    return site


@dataclass(frozen=True, slots=True)
class Active:
    """A site and the number of its active programme version: what a publish is based on."""

    site: SiteRecord
    version: int


async def _active(q: Queries, site: SiteRecord) -> Active:
    # The latest programme version (not the site row's version, which also counts origin changes).
    latest = await q.latest_programme_version(site.id)
    return Active(site, latest.number if latest is not None else 0)


async def _active_of(q: Queries, site_key: str) -> Active:
    return await _active(q, await _site(q, site_key))


async def _open(q: Queries, site_id: int, proposal_id: int) -> ProposalRecord:
    proposal = await q.proposal(site_id, proposal_id, for_update=True)
    if proposal is None:
        raise NotFound(NO_SUCH_PROPOSAL, field="proposal")
    if proposal.status not in OPEN:
        raise ProposalClosed(SUPERSEDED if proposal.status == "superseded" else DECIDED_ALREADY, field="proposal")
    return proposal


async def _waiting(q: Queries, site_id: int, proposal_id: int) -> ProposalRecord:
    """An open proposal that is not being applied: one that can still be turned down."""
    proposal = await _open(q, site_id, proposal_id)
    if proposal.status != "pending":
        raise ProposalClosed(BEING_APPLIED, field="proposal")
    return proposal


async def _reread(q: Queries, site_id: int, proposal_id: int) -> ProposalRecord:
    found = await q.proposal(site_id, proposal_id)
    assert found is not None
    return found


async def _supersede(q: Queries, site_id: int, proposal: ProposalRecord, now: float) -> ProposalRecord:
    await q.set_proposal_status(proposal.id, "superseded", by=None, at=now)
    detail = _change(proposal.score, proposal.before, proposal.after)
    await q.insert_audit(site_id, now, "system", "threshold_superseded", proposal.id, detail)
    return await _reread(q, site_id, proposal.id)


def _side_of(actor: Actor) -> str:
    if actor.side is None:
        raise Forbidden(NOT_A_SIDE, field="role")
    return actor.side


def _change(score: str, before: Thresholds, after: Thresholds) -> dict[str, Any]:
    return {
        "score": score,
        "before": {"mql": before[0], "sql": before[1]},
        "after": {"mql": after[0], "sql": after[1]},
    }


def _words(proposal: ProposalRecord) -> str:
    """``engagement: sql 12 → 14``."""
    return "; ".join(score_changes(proposal.score, proposal.before, proposal.after))
