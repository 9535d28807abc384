"""Customer accounts: placing people in them, and keeping each account's scores and stages current.

Inside the ingest unit (``account_after_event``): the event may name the person's account (a
Segment group call, a business e-mail, a form's company field; see ``domain.accounts``), and
when the programme scores accounts, the account is recomputed from its members' decayed scores,
its traits and its members' recent events.  Every stage the account enters is recorded once and,
like every score threshold it reaches, announced through the webhook outbox in that same unit.

Some stages move with the clock alone (a renewal date coming within N days, usage that stopped):
``refresh_site`` recomputes every account of a site, and each server process runs it hourly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from tracker.domain.accounts import (
    NAME_TRAIT,
    OWNER_TRAIT,
    AccountRecord,
    Claim,
    account_scores,
    account_stages,
    claim_of,
    crossings,
    moves,
    owner_of,
)
from tracker.domain.clock import iso
from tracker.domain.facts import Event, ScoreState
from tracker.domain.people import PersonRecord
from tracker.domain.scoring import current_scores, decayed
from tracker.domain.sites import Site
from tracker.services.exports import Cursor
from tracker.services.handoff import hand_to_account_owner
from tracker.services.outbox import NO_PERSON, announce
from tracker.services.sites import SiteRegistry
from tracker.store import Queries, Store

log = logging.getLogger("tracker.accounts")

REFRESH_EVERY = 3600.0
# Accounts recomputed per write unit by the periodic refresh: ingest never waits long for the lock.
REFRESH_BATCH = 100
MEMBER_LIMIT = 1000
TIMELINE_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class Placement:
    """What a claim did: the person's account, the one they left, and whether its owner changed."""

    account: AccountRecord
    left: int | None = None
    joined: bool = False
    new_owner: bool = False


async def account_after_event(
    q: Queries, site: Site, person: PersonRecord, event: Event, scored: Collection[str], now: float
) -> None:
    """Place ``person`` in the account ``event`` names, hand its leads to its owner, recompute what changed.

    ``scored`` names the person's scores the event changed.  An event that changes nothing the
    account is made of (no membership, no added-up score, nothing a rule or a stage counts) leaves
    it alone: what the clock alone changes is the hourly refresh's.
    """
    programme = site.programme.accounts
    claim = claim_of(event, person.email, programme.company_field)
    # Looked up once: both the placement and the recompute below need the current membership.
    current = await q.membership(person.id) if claim is not None else None
    placed = await _place(q, site.id, person.id, claim, current, now) if claim is not None else None
    if placed is not None and placed.account.owner is not None and (placed.joined or placed.new_owner):
        await _to_owner(q, site, placed.account, person, now, everyone=placed.new_owner)
    if not programme.declared:
        return
    if placed is None and programme.member_scores.isdisjoint(scored) and not programme.counts(event):
        return
    if placed is not None:
        account_id: int | None = placed.account.id
    else:
        if claim is None:
            current = await q.membership(person.id)
        account_id = current[0] if current is not None else None
    # Locked before it is recomputed: two units recomputing one account end as if one ran after the other.
    account = await q.account(account_id, for_update=True) if account_id is not None else None
    if account is None:
        return
    await refresh(q, site, account, now, event_id=event.id, person=person)
    if placed is not None and placed.left is not None:
        previous = await q.account(placed.left, for_update=True)
        if previous is not None:
            await refresh(q, site, previous, now, event_id=event.id)


async def _place(
    q: Queries, site_id: int, person_id: int, claim: Claim, current: tuple[int, str] | None, now: float
) -> Placement | None:
    """Put the person (member of ``current``) in the account ``claim`` names; None when it may not move them."""
    if current is not None and not moves(current[1], claim):
        return None
    # Only a group call changes the account itself (traits, name, owner): only then is it locked here.
    account = await q.account_for_key(site_id, claim.key, claim.name, now, for_update=bool(claim.traits))
    owner = account.owner
    if claim.traits:
        account.traits.update({k: v for k, v in claim.traits.items() if k not in (NAME_TRAIT, OWNER_TRAIT)})
        if NAME_TRAIT in claim.traits:
            account.name = claim.name
        if OWNER_TRAIT in claim.traits:
            account.owner = owner_of(claim.traits)
        account.updated_at = now
        await q.save_account(account)
    new_owner = account.owner != owner
    if current is not None and current[0] == account.id:
        return Placement(account, new_owner=new_owner)
    await q.set_membership(person_id, account.id, claim.source, now)
    return Placement(account, None if current is None else current[0], joined=True, new_owner=new_owner)


async def _to_owner(
    q: Queries, site: Site, account: AccountRecord, person: PersonRecord, now: float, *, everyone: bool
) -> None:
    """Hand ``person`` (in memory, locked) to the account's owner; with ``everyone``, every other member too."""
    assert account.owner is not None
    await hand_to_account_owner(q, site, person, account.owner, now)
    if not everyone:
        return
    # An owner change is rare; each member is locked in id order, as every unit locks people.
    for member_id in await q.member_ids(account.id):
        if member_id == person.id:
            continue
        member = await q.person(member_id, for_update=True)
        if member is not None:
            await hand_to_account_owner(q, site, member, account.owner, now)


async def refresh(
    q: Queries,
    site: Site,
    account: AccountRecord,
    now: float,
    *,
    event_id: int | None = None,
    person: PersonRecord | None = None,
) -> None:
    """Recompute the (locked) ``account``; record and announce the stages it enters and thresholds it reaches.

    ``person``, when given, is a member whose state in memory is newer than the stored one.
    """
    programme = site.programme.accounts
    members = await _member_scores(q, site, account.id, person, now)
    history = programme.history
    events = await q.account_events(account.id, now - history, programme.history_types) if history else []
    scores = account_scores(programme, members, account.traits, events, now)
    stages = account_stages(programme, scores, account.traits, events, now)
    entered = [stage for stage in stages if stage not in account.stages]
    reached = crossings(programme, account.scores, scores)
    primary = programme.primary_score
    account.scores, account.stages = scores, stages
    account.score = scores[primary] if primary is not None else 0.0
    account.updated_at = now
    await q.save_account(account)
    if entered:
        await q.insert_account_stages(account.id, entered, now, event_id)
    signals: list[tuple[str, Mapping[str, Any]]] = [
        ("account.score_crossed", {"account_id": account.id, "score": name, "threshold": level, "event_id": event_id})
        for name, level in reached
    ]
    signals += [
        ("account.stage_changed", {"account_id": account.id, "stage": stage, "event_id": event_id}) for stage in entered
    ]
    if signals:
        await announce(q, site.id, NO_PERSON, signals, occurred_at=now, now=now)


async def _member_scores(
    q: Queries, site: Site, account_id: int, person: PersonRecord | None, now: float
) -> list[dict[str, float]]:
    """Every member's scores the account adds up, decayed to ``now``; ``person``'s from memory."""
    members: dict[int, dict[str, float]] = {}
    scoring = site.programme.scoring
    for name in sorted(site.programme.accounts.member_scores):
        for person_id, (value, last) in (await q.member_scores(account_id, name)).items():
            members.setdefault(person_id, {})[name] = decayed(scoring.scores[name], value, last, now)
    if person is not None and person.id in members:
        members[person.id] = current_scores(scoring, person.scoring, now)
    return list(members.values())


async def refresh_site(store: Store, site: Site, now: float) -> int:
    """Recompute every account of ``site`` (stages that move with the clock); how many were."""
    if not site.programme.accounts.declared:
        return 0
    done, after = 0, 0
    while True:

        async def unit(q: Queries, after: int = after) -> list[int]:
            ids = await q.account_ids(site.id, after, REFRESH_BATCH)
            for account_id in ids:
                account = await q.account(account_id, for_update=True)
                if account is not None:
                    await refresh(q, site, account, now)
            return ids

        ids = await store.write(unit)
        if not ids:
            return done
        done, after = done + len(ids), ids[-1]


async def refresh_periodically(
    store: Store, sites: SiteRegistry, clock: Callable[[], float], every: float = REFRESH_EVERY
) -> None:
    """The in-process job: every site's accounts recomputed every ``every`` seconds until cancelled."""
    while True:
        await asyncio.sleep(every)
        for site in sites.all():
            try:
                await refresh_site(store, site, clock())
            except Exception:  # one site's failure must not stop the others, nor the next run
                log.exception("refreshing the accounts of site %s failed", site.key)


# ---------------------------------------------------------------------------
# Reading


def account_summary(account: AccountRecord, members: int) -> dict[str, Any]:
    return {
        "id": account.id,
        "key": account.key,
        "name": account.name,
        "owner": account.owner,
        "score": account.score,
        "scores": account.scores,
        "stages": account.stages,
        "traits": account.traits,
        "members": members,
        "created_at": iso(account.created_at),
        "updated_at": iso(account.updated_at),
    }


async def account_page(
    store: Store,
    site_id: int,
    *,
    stage: str | None,
    search: str | None,
    min_score: float | None,
    limit: int,
    cursor: Cursor | None,
    now: float,
) -> tuple[list[dict[str, Any]], Cursor | None]:
    """Up to ``limit`` accounts by first account score then id, both descending, and the next page's cursor."""

    async def fetch(q: Queries) -> tuple[list[AccountRecord], dict[int, int]]:
        after = (cursor.value, cursor.id) if cursor is not None else None
        found = await q.list_accounts(site_id, stage=stage, q=search, min_score=min_score, after=after, limit=limit + 1)
        return found, await q.member_counts([account.id for account in found[:limit]])

    found, counts = await store.read(fetch)
    page = found[:limit]
    following = Cursor(now, page[-1].score, page[-1].id) if len(found) > limit else None
    return [account_summary(account, counts.get(account.id, 0)) for account in page], following


async def account_story(q: Queries, site: Site, account_id: int, now: float) -> dict[str, Any] | None:
    """One account for account managers: its summary, members with their scores now, stage history and
    the merged timeline of every member; None if ``site`` has no such account."""
    account = await q.account(account_id)
    if account is None or account.site_id != site.id:
        return None
    members = await q.members_of(account.id, MEMBER_LIMIT)
    story = account_summary(account, len(members))
    story.update(
        {
            "members": [
                {
                    "id": row["id"],
                    "email": row["email"],
                    "stage": row["stage"],
                    "scores": current_scores(site.programme.scoring, ScoreState.from_json(row["scoring"]), now),
                    "source": row["source"],
                    "joined_at": iso(row["joined_at"]),
                    "last_seen_at": iso(row["last_seen_at"]),
                }
                for row in members
            ],
            "stage_history": [{**row, "ts": iso(row["ts"])} for row in await q.account_stage_history(account.id)],
            "timeline": [{**row, "ts": iso(row["ts"])} for row in await q.account_timeline(account.id, TIMELINE_LIMIT)],
        }
    )
    return story
