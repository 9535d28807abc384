"""UPDATE statements that set only what changed since the row was last saved.

A person's row is saved on every beacon call, but most calls change only its scores and
times.  Setting the other columns anyway costs SQLite the rewrite of every index they are in
(e-mail, user id, stage): measured 7.5 → 3.7 µs per UPDATE.  Only possible where the row
as stored is known for sure: ``hot_people``'s entries, on SQLite's writer.
"""

from __future__ import annotations

from typing import Any

from tracker.domain.people import PersonRecord, VisitorRecord
from tracker.store.rows import dumps, seen_slot


def person_update(person: PersonRecord, stored: PersonRecord | None) -> tuple[str, list[Any]]:
    """The UPDATE saving ``person`` over ``stored`` (every column when the stored row is unknown)."""
    changed: list[tuple[str, Any]] = []
    if stored is None or person.email != stored.email:
        changed.append(("email", person.email))
    if stored is None or person.user_id != stored.user_id:
        changed.append(("user_id", person.user_id))
    if stored is None or person.stage != stored.stage:
        changed.append(("stage", person.stage))
    if stored is None or person.profile != stored.profile:
        changed.append(("profile", dumps(person.profile)))
    # A score state is replaced whenever it changes, never changed in place (see PersonRecord.copy).
    if stored is None or person.scoring is not stored.scoring:
        changed.append(("scoring", dumps(person.scoring.to_json())))
    if stored is None or person.campaigns != stored.campaigns:
        changed.append(("campaigns", dumps({k: v.to_json() for k, v in person.campaigns.items()})))
    if stored is None or person.identified_at != stored.identified_at:
        changed.append(("identified_at", person.identified_at))
    if stored is None or person.last_seen_at != stored.last_seen_at:
        changed.append(("last_seen_at", person.last_seen_at))
    changed.append(("updated_at", person.updated_at))
    return _update("persons", changed, person.id)


def visitor_update(visitor: VisitorRecord, stored: VisitorRecord | None) -> tuple[str, list[Any]]:
    changed: list[tuple[str, Any]] = []
    if stored is None or visitor.person_id != stored.person_id:
        changed.append(("person_id", visitor.person_id))
    if stored is None or visitor.visits != stored.visits:
        changed.append(("visits", visitor.visits))
    if stored is None or visitor.device != stored.device:
        changed.append(("device", visitor.device))
    if stored is None or visitor.browser != stored.browser:
        changed.append(("browser", visitor.browser))
    changed.append(("last_seen_at", visitor.last_seen_at))
    slot = seen_slot(visitor.last_seen_at)
    if stored is None or slot != seen_slot(stored.last_seen_at):
        changed.append(("seen_slot", slot))
    return _update("visitors", changed, visitor.id)


def _update(table: str, changed: list[tuple[str, Any]], key: int | str) -> tuple[str, list[Any]]:
    # Columns always come in the same order: few distinct statements, each prepared once.
    assignments = ", ".join(f"{column} = ?" for column, _ in changed)
    return f"UPDATE {table} SET {assignments} WHERE id = ?", [value for _, value in changed] + [key]
