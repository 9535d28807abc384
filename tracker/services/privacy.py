"""Privacy work with I/O: the retention purge, and the data subject's
rights of access and erasure (both in one transaction, audited without personal data).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tracker.domain.facts import STAGES
from tracker.domain.people import PersonRecord
from tracker.domain.privacy import DAY, PrivacySettings
from tracker.services.batches import delete_in_batches
from tracker.services.message_ids import MESSAGE_ID_DAYS, forget_old_message_ids
from tracker.store import Queries, Store

log = logging.getLogger("tracker.privacy")
# Persons per purge transaction: short enough that ingest never waits long for the write lock.
PURGE_BATCH = 1000
PURGE_EVERY = 3600.0
_IDENTIFIED_STAGES = tuple(stage for stage in STAGES if stage != "anonymous")


# -- retention ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PurgeTarget:
    """The persons of one kind (anonymous or identified) a site's retention has expired."""

    site_id: int
    site_key: str
    kind: Literal["anonymous", "identified"]
    stages: tuple[str, ...]
    days: int
    before: float
    count: int


async def plan_purge(store: Store, now: float, site_key: str | None = None) -> list[PurgeTarget]:
    """What a purge at ``now`` would delete, per site and kind (one count each)."""

    async def unit(q: Queries) -> list[PurgeTarget]:
        records = [r for r in await q.sites() if site_key is None or r.key == site_key]
        if site_key is not None and not records:
            raise LookupError(f"no site {site_key!r}")
        targets: list[PurgeTarget] = []
        for record in records:
            settings = PrivacySettings.from_json(record.settings)
            kinds: list[tuple[Literal["anonymous", "identified"], tuple[str, ...], int | None]] = [
                ("anonymous", ("anonymous",), settings.retention_anonymous_days),
                ("identified", _IDENTIFIED_STAGES, settings.retention_identified_days),
            ]
            for kind, stages, days in kinds:
                if days is None:
                    continue
                before = now - days * DAY
                count = await q.count_inactive(record.id, stages, before)
                targets.append(PurgeTarget(record.id, record.key, kind, stages, days, before, count))
        return targets

    return await store.read(unit)


async def run_purge(
    store: Store,
    targets: Sequence[PurgeTarget],
    *,
    now: float,
    actor: str,
    batch: int = PURGE_BATCH,
    progress: Callable[[int], None] | None = None,
) -> dict[tuple[str, str], int]:
    """Delete what ``targets`` found, ``batch`` persons per transaction; persons deleted per (site, kind).

    Each batch is its own write, so ingest runs between batches.  One audit entry per
    site records the counts and the policy applied.
    """
    purged: dict[tuple[str, str], int] = {}
    for site_id in dict.fromkeys(target.site_id for target in targets):
        detail: dict[str, int] = {}
        for target in targets:
            if target.site_id != site_id or not target.count:
                continue
            count = await _purge_target(store, target, batch, progress)
            purged[target.site_key, target.kind] = count
            if count:
                detail[target.kind] = count
                detail[f"{target.kind}_days"] = target.days
        if detail:
            await _audit(store, site_id, now, actor, "purge", None, detail)
    return purged


async def _purge_target(store: Store, target: PurgeTarget, batch: int, progress: Callable[[int], None] | None) -> int:
    async def unit(q: Queries) -> int:
        ids = await q.inactive_persons(target.site_id, target.stages, target.before, batch)
        await q.delete_persons(ids)
        return len(ids)

    return await delete_in_batches(store, unit, batch, progress)


async def _audit(
    store: Store, site_id: int, now: float, actor: str, action: str, subject: int | None, detail: Mapping[str, Any]
) -> None:
    await store.write(lambda q: q.insert_audit(site_id, now, actor, action, subject, detail))


async def purge_periodically(store: Store, clock: Callable[[], float], every: float) -> None:
    """The in-process retention job, every ``every`` seconds until cancelled: the purge of people past
    their site's retention, and of Segment's message ids past their window (``services.message_ids``)."""
    while True:
        await asyncio.sleep(every)
        now = clock()
        try:
            purged = await run_purge(store, await plan_purge(store, now), now=now, actor="scheduler")
            forgotten = await forget_old_message_ids(store, now)
        except Exception:  # a failed run must not end the job; the next one retries
            log.exception("retention purge failed")
            continue
        for (site, kind), count in purged.items():
            log.info("retention purge: %d %s persons of site %s", count, kind, site)
        if forgotten:
            log.info("retention purge: %d message ids older than %d days", forgotten, MESSAGE_ID_DAYS)


# -- access and erasure -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonRef:
    """How a request names a person: by id (a merged-away id names its survivor), e-mail or user id."""

    by: Literal["id", "email", "user_id"]
    value: str


async def find_person(q: Queries, site_id: int, ref: PersonRef, *, for_update: bool = False) -> PersonRecord | None:
    if ref.by == "email":
        person = await q.person_by_email(site_id, ref.value, for_update=for_update)
    elif ref.by == "user_id":
        person = await q.person_by_user_id(site_id, ref.value, for_update=for_update)
    else:
        resolved = await q.resolve_person_id(int(ref.value))
        person = await q.person(resolved, for_update=for_update) if resolved is not None else None
    return person if person is not None and person.site_id == site_id else None


@dataclass(frozen=True, slots=True)
class Export:
    person: PersonRecord
    merged_ids: list[int]
    # Every row held about the person, by table: the same list erasure deletes through.
    tables: dict[str, list[dict[str, Any]]]


async def export_person(store: Store, site_id: int, ref: PersonRef, *, actor: str, now: float) -> Export | None:
    """Everything held about a person (right of access), recorded in the audit log."""

    async def fetch(q: Queries) -> Export | None:
        person = await find_person(q, site_id, ref)
        if person is None:
            return None
        return Export(person, await q.aliases_of(person.id), await q.rows_of(person.id))

    found = await store.read(fetch)
    if found is not None:
        await _audit(store, site_id, now, actor, "export", found.person.id, {"via": ref.by})
    return found


@dataclass(frozen=True, slots=True)
class Erasure:
    person_id: int
    merged_ids: list[int]
    deleted: dict[str, int]  # rows per table


async def erase_person(store: Store, site_id: int, ref: PersonRef, *, actor: str, now: float) -> Erasure | None:
    """Delete a person and every row that points at them, and audit it, in one transaction."""

    async def unit(q: Queries) -> Erasure | None:
        person = await find_person(q, site_id, ref, for_update=True)
        if person is None:
            return None
        merged = await q.aliases_of(person.id)
        deleted = await q.delete_persons([person.id])
        detail = {"via": ref.by, "merged_ids": merged, "deleted": deleted}
        await q.insert_audit(site_id, now, actor, "erase", person.id, detail)
        return Erasure(person.id, merged, deleted)

    return await store.write(unit)
