"""One lead's whole story, read from the store: what sales sees and what webhooks carry.

A merged-away id resolves to the survivor.  The response of ``GET /api/leads/{id}`` and the
``lead`` of a webhook payload are both this one read model.
"""

from __future__ import annotations

from typing import Any

from tracker.domain.clock import iso
from tracker.domain.leads import lead_summary
from tracker.domain.sites import Site
from tracker.services.handoff import suggestion
from tracker.store import Queries

LEDGER_LIMIT = 1000
TIMELINE_LIMIT = 2000


async def lead_story(q: Queries, site: Site, requested: int, now: float) -> dict[str, Any] | None:
    """Everything sales (or a CRM, through a webhook) needs about one person, None if not of ``site``.

    A merged-away id resolves to the survivor, and says so in ``resolved_from``.
    """
    person_id = await q.resolve_person_id(requested)
    person = await q.person(person_id) if person_id is not None else None
    if person is None or person.site_id != site.id:
        return None
    assignments = await q.assignments_of(person.id)
    current = assignments[0] if assignments else None
    story = lead_summary(site, person, now)
    story.update(
        {
            "resolved_from": requested if requested != person.id else None,
            "merged_ids": await q.aliases_of(person.id),
            "routing": {
                **{key: current[key] if current else None for key in ("queue", "owner", "route")},
                "assigned_at": iso(current["ts"]) if current else None,
                # Where the table would put the lead now, if elsewhere: re-routing is explicit.
                "suggested": await suggestion(q, site, person, current, now),
                "history": [{**row, "ts": iso(row["ts"])} for row in assignments],
            },
            "stages": [{**row, "ts": iso(row["ts"])} for row in await q.stages_of(person.id)],
            # Values written and withheld (from devices the person never used), newest first.
            "profile_history": [
                {**row, "ts": iso(row["ts"])} for row in await q.profile_history_of(person.id, LEDGER_LIMIT)
            ],
            "ledger": [{**row, "ts": iso(row["ts"])} for row in await q.ledger_of(person.id, LEDGER_LIMIT)],
            "timeline": [{**row, "ts": iso(row["ts"])} for row in await q.timeline(person.id, TIMELINE_LIMIT)],
            "decisions": [{**row, "ts": iso(row["ts"])} for row in await q.decisions_of(person.id, LEDGER_LIMIT)],
            "devices": [
                {
                    "id": device.id,
                    "type": device.device,
                    "browser": device.browser,
                    "visits": device.visits,
                    "first_seen_at": iso(device.created_at),
                    "last_seen_at": iso(device.last_seen_at),
                }
                for device in await q.visitors_of(person.id)
            ],
        }
    )
    return story
