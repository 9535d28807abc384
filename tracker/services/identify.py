"""Identify and merge, inside the caller's write unit.

The rules come from the incumbents' worst bugs (see REFERENCE.md):

* identify and merge are one step in one transaction (Mautic #11527);
* the older, known person survives and keeps its id; merged ids stay resolvable
  through ``aliases`` (Mautic #16425);
* two identified people are never merged: a second identity on a browser gets a
  fresh visitor (Mautic #5495, PostHog ``cannot_merge_already_identified``);
* every table that points at a person is moved (Mautic #16240), and scores are
  rebuilt by replaying the merged history through the programme, so caps and decay
  apply to it as if it had always been one person;
* who holds an identity is settled by the database's unique constraints, never by a
  read-then-write check: a unit that loses the race is run again and merges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tracker.domain.facts import ProfileChange
from tracker.domain.identity import Identity, _conflicts, is_identified, merge_campaign_memory, update_profile
from tracker.domain.people import PersonRecord, VisitorRecord
from tracker.domain.scoring import Scoring
from tracker.services.rebuild import rebuild_scores
from tracker.store import Queries


async def start_visitor(
    q: Queries, person: PersonRecord, device: str, browser: str, now: float, make_visitor_id: Callable[[], str]
) -> VisitorRecord:
    """A new device for ``person``: its first visit starts now."""
    visitor = VisitorRecord(
        id=make_visitor_id(),
        site_id=person.site_id,
        person_id=person.id,
        visits=1,
        device=device,
        browser=browser,
        created_at=now,
        last_seen_at=now,
    )
    await q.insert_visitor(visitor)
    return visitor


# The message is still recorded, for the person its user id names; the e-mail stays with its holder.
EMAIL_HELD = "email_already_held: this e-mail belongs to another identified person; it was not moved"


@dataclass(slots=True)
class Identified:
    person: PersonRecord
    visitor: VisitorRecord
    merged_from: int | None = None
    switched: bool = False
    # The device was never tied to ``person`` before this identification: what it says about
    # the person only fills empty profile fields (anyone can type someone else's e-mail).
    new_to_person: bool = False
    profile_changes: list[ProfileChange] = field(default_factory=list)
    warning: str | None = None


async def identify(
    q: Queries,
    scoring: Scoring,
    person: PersonRecord,
    visitor: VisitorRecord,
    identity: Identity,
    now: float,
    make_visitor_id: Callable[[], str],
) -> Identified:
    """Tie ``visitor`` (currently ``person``) to ``identity``.

    Whoever already holds the identity is found under a row lock.  Nobody holding it is
    never taken on trust: the identity is written, and if a concurrent unit wrote it first
    the database's unique constraint fails this unit, which the store runs again from the
    start; the rerun then finds the winner and merges into it.  Nothing is skipped silently.
    """
    site = person.site_id
    by_user = await q.person_by_user_id(site, identity.user_id, for_update=True) if identity.user_id else None
    by_email = await q.person_by_email(site, identity.email, for_update=True) if identity.email else None
    warning = None
    if _held_by_another(by_email, by_user, identity):
        # A backend user id names the person; an e-mail someone else holds is never stolen.
        identity, by_email, warning = Identity(None, identity.user_id), None, EMAIL_HELD
    target = by_user or by_email
    if target is None or target.id == person.id:
        if target is None and is_identified(person) and _conflicts(person, identity):
            # A second person on a shared browser: start a fresh device for them.
            target = await q.insert_person(site, now, identity.email, identity.user_id)
            fresh = await start_visitor(q, target, visitor.device, visitor.browser, now, make_visitor_id)
            return Identified(target, fresh, switched=True, warning=warning)
        changes = _complete(person, identity, now)
        return Identified(person, visitor, profile_changes=changes, warning=warning)
    if is_identified(person):
        # Never merge two identified people: this device continues as a new visitor of ``target``.
        fresh = await start_visitor(q, target, visitor.device, visitor.browser, now, make_visitor_id)
        changes = _complete(target, identity, now)
        return Identified(target, fresh, switched=True, new_to_person=True, profile_changes=changes, warning=warning)
    survivor, changes = await merge(q, scoring, survivor=target, loser=person, now=now)
    changes += _complete(survivor, identity, now)
    visitor.person_id = survivor.id
    return Identified(
        survivor, visitor, merged_from=person.id, new_to_person=True, profile_changes=changes, warning=warning
    )


def _held_by_another(by_email: PersonRecord | None, by_user: PersonRecord | None, identity: Identity) -> bool:
    """True if the e-mail of ``identity`` belongs to someone else than the person its user id names."""
    if by_email is None or identity.user_id is None or by_email.user_id == identity.user_id:
        return False
    # The e-mail's holder has another user id, or the user id is someone else's already.
    return by_email.user_id is not None or by_user is not None


def _complete(person: PersonRecord, identity: Identity, now: float) -> list[ProfileChange]:
    """Give ``person`` the parts of ``identity`` it lacks; a known user id's new e-mail replaces the old one.

    ``identify`` has established that nobody else holds them, as far as committed data
    shows; a concurrent holder makes the save fail on the unique constraint (see ``identify``).
    """
    changes: list[ProfileChange] = []
    if identity.email is not None and person.email != identity.email:
        # Only reached with no e-mail yet, or with the user id this person holds (a CRM e-mail change).
        if person.email is not None:
            changes.append(ProfileChange("email", identity.email, person.email, applied=True))
        person.email = identity.email
    if identity.user_id is not None and person.user_id is None:
        person.user_id = identity.user_id
    if person.identified_at is None and is_identified(person):
        person.identified_at = now
    person.updated_at = now
    return changes


async def merge(
    q: Queries, scoring: Scoring, *, survivor: PersonRecord, loser: PersonRecord, now: float
) -> tuple[PersonRecord, list[ProfileChange]]:
    """Fold the anonymous ``loser`` into ``survivor`` (same transaction as the caller's).

    Returns the survivor and what the loser's profile brought to it.
    """
    await q.move_person_rows(loser.id, survivor.id, now)
    await rebuild_scores(q, scoring, survivor)
    changes = update_profile(survivor.profile, loser.profile, trusted=False)
    survivor.campaigns = merge_campaign_memory(survivor.campaigns, loser.campaigns)
    survivor.created_at = min(survivor.created_at, loser.created_at)
    survivor.last_seen_at = max(survivor.last_seen_at, loser.last_seen_at)
    survivor.updated_at = now
    return survivor, changes
