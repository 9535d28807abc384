"""Reading the audit log: every change, who made it (a user by e-mail, never "user:3"), when,
what, before and after; filtered by site, actor and action, newest first, by keyset pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tracker.store import Queries, Store
from tracker.store.audit_queries import AuditFilter

MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[dict[str, Any]]  # each with "who": the actor as people read it
    next_before: int | None  # the ``before`` of the next page; None on the last one
    actors: dict[str, str]  # every actor in the log → how it reads, for the filter
    actions: list[str]


def _user_ids(actors: list[str]) -> list[int]:
    ids: list[int] = []
    for actor in actors:
        kind, _, number = actor.partition(":")
        if kind == "user" and number.isdigit():
            ids.append(int(number))
    return ids


def who(actor: str, emails: dict[int, str]) -> str:
    """``user:3`` → their e-mail; ``key:5`` → "API key 5"; ``cli``, ``scheduler`` as they are."""
    kind, _, number = actor.partition(":")
    if kind == "user" and number.isdigit():
        return emails.get(int(number), actor)
    if kind == "key" and number.isdigit():
        return f"API key {number}"
    return actor


async def audit_page(store: Store, wanted: AuditFilter, limit: int) -> AuditPage:
    async def read(q: Queries) -> AuditPage:
        rows = await q.audit_page(wanted, limit + 1)
        actors, actions = await q.audit_choices()
        emails = await q.user_emails(_user_ids(actors))
        page = rows[:limit]
        entries = [{**row, "who": who(row["actor"], emails)} for row in page]
        following = page[-1]["id"] if len(rows) > limit else None
        return AuditPage(entries, following, {actor: who(actor, emails) for actor in actors}, actions)

    return await store.read(read)
