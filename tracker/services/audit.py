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
    entries: list[dict[str, Any]]  # each with "who" (the actor as people read it) and "changes"
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


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, inner in value.items():
        flat.update(_flat(inner, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def changes(detail: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """What an entry's before/after changed, field by field (``privacy.consent``: none → required);
    a creation lists what it set, with None before."""
    if "after" not in detail:
        return []
    before, after = _flat(detail.get("before") or {}), _flat(detail["after"])
    fields = [*after, *(field for field in before if field not in after)]
    return [(field, before.get(field), after.get(field)) for field in fields if before.get(field) != after.get(field)]


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
        entries = [{**row, "who": who(row["actor"], emails), "changes": changes(row["detail"])} for row in page]
        following = page[-1]["id"] if len(rows) > limit else None
        return AuditPage(entries, following, {actor: who(actor, emails) for actor in actors}, actions)

    return await store.read(read)
