"""One lead's whole story, read from the store: what sales sees and what webhooks carry.

A merged-away id resolves to the survivor.  The response of ``GET /api/leads/{id}`` and the
``lead`` of a webhook payload are both this one read model.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

import orjson

from tracker.domain.clock import iso
from tracker.domain.leads import lead_summary
from tracker.domain.sites import Site
from tracker.domain.timeline import VISITS_PER_PAGE, group_visits
from tracker.errors import BadRequest
from tracker.services.handoff import suggestion
from tracker.services.outcomes import outcomes_of
from tracker.store import Queries
from tracker.store.timeline_queries import VisitKey

LEDGER_LIMIT = 1000
TIMELINE_LIMIT = 2000


async def lead_story(
    q: Queries, site: Site, requested: int, now: float, *, timeline: bool = True
) -> dict[str, Any] | None:
    """Everything sales (or a CRM, through a webhook) needs about one person, None if not of ``site``.

    A merged-away id resolves to the survivor, and says so in ``resolved_from``.  Without
    ``timeline`` the flat event list is left out (the console pages it by visit instead).
    """
    person_id = await q.resolve_person_id(requested)
    person = await q.person(person_id) if person_id is not None else None
    if person is None or person.site_id != site.id:
        return None
    assignments = await q.assignments_of(person.id)
    current = assignments[0] if assignments else None
    account = await q.account_of_person(person.id)
    story = lead_summary(site, person, now)
    story.update(
        {
            "resolved_from": requested if requested != person.id else None,
            "merged_ids": await q.aliases_of(person.id),
            # The customer company the person belongs to (GET /api/accounts/{id} tells the rest).
            "account": {"id": account.id, "key": account.key, "name": account.name, "owner": account.owner}
            if account is not None
            else None,
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
            "timeline": [{**row, "ts": iso(row["ts"])} for row in await q.timeline(person.id, TIMELINE_LIMIT)]
            if timeline
            else [],
            "outcomes": await outcomes_of(q, person.id),
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


async def visit_page(
    q: Queries, person_id: int, before: VisitKey | None, limit: int = VISITS_PER_PAGE
) -> tuple[list[dict[str, Any]], VisitKey | None]:
    """A page of a person's visits, newest first, with their events; the cursor of older visits, if any."""
    visits = await q.visits_of(person_id, before, limit + 1)
    page = visits[:limit]
    if not page:
        return [], None
    events = await q.events_during(person_id, min(v["first_ts"] for v in page), max(v["last_ts"] for v in page))
    devices = {
        device.id: {"type": device.device, "browser": device.browser} for device in await q.visitors_of(person_id)
    }
    last = page[-1]
    older = (last["last_ts"], last["device"], last["visit"], last["solo"]) if len(visits) > limit else None
    return group_visits(page, events, devices), older


def encode_visit_cursor(key: VisitKey) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_visit_cursor(text: str) -> VisitKey:
    try:
        last, device, visit, solo = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        key = (float(last), str(device), int(visit), int(solo))
    except (binascii.Error, orjson.JSONDecodeError, TypeError, ValueError, OverflowError):
        raise BadRequest("not a page of visits this server gave", field="older") from None
    if not math.isfinite(key[0]) or not all(-(2**63) <= n < 2**63 for n in key[2:]):
        raise BadRequest("not a page of visits this server gave", field="older")
    return key
