"""Campaigns as the console edits them: one ``[[campaigns]]`` entry changed, the programme published.

Saving rewrites the site's programme source around that one campaign (``programme.edit``
keeps the rest as written), compiles the whole programme first (a campaign that does not
compile changes nothing) and publishes it through ``programmes.publish``, which refuses a
stale base version.  "Who would see it now" counts the site's people whose stored state
matches the campaign's targeting, with the checks the decisions use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracker.domain.audience import Audience, StateTargeting
from tracker.domain.programme.campaign_edit import campaign_tables, put_campaign, remove_campaign
from tracker.domain.programme.load import load_programme
from tracker.domain.scoring import current_scores
from tracker.domain.sites import Site
from tracker.domain.targeting import PersonView
from tracker.services.programmes import Published, publish
from tracker.store import Queries, Store

# The scan reads whole person rows: past this many the answer is "at least N".
AUDIENCE_SCAN = 5000
AUDIENCE_EXAMPLES = 5


async def save_campaign(
    store: Store,
    site: Site,
    original: str | None,
    table: Mapping[str, Any],
    *,
    base_version: int,
    author: str,
    comment: str,
    now: float,
    action: str = "campaign_save",
) -> Published:
    """Replace campaign ``original`` (None: add one) by ``table`` and publish; raises ProgrammeError first.

    ``action`` names the change in the audit log (an experiment's end is a campaign save of its own kind).
    """
    source = site.programme.source
    before = campaign_tables(source).get(original) if original is not None else None
    edited = put_campaign(source, original, table)
    load_programme(edited)  # every error is found before anything is written
    published = await publish(
        store, site.key, edited, base_version=base_version, author=author, comment=comment, now=now
    )
    detail = {"campaign": table.get("id"), "before": before, "after": dict(table), "version": published.version}
    await store.write(lambda q: q.insert_audit(site.id, now, author, action, None, detail))
    return published


async def delete_campaign(
    store: Store, site: Site, campaign_id: str, *, base_version: int, author: str, comment: str, now: float
) -> Published:
    source = site.programme.source
    before = campaign_tables(source).get(campaign_id)
    edited = remove_campaign(source, campaign_id)
    load_programme(edited)
    published = await publish(
        store, site.key, edited, base_version=base_version, author=author, comment=comment, now=now
    )
    detail = {"campaign": campaign_id, "before": before, "after": None, "version": published.version}
    await store.write(lambda q: q.insert_audit(site.id, now, author, "campaign_delete", None, detail))
    return published


async def audience(store: Store, site: Site, targeting: StateTargeting, now: float) -> Audience:
    """The people whose scores and stage match ``targeting`` now, over the most recent ``AUDIENCE_SCAN``."""

    async def read(q: Queries) -> Audience:
        found = Audience()
        people = await q.audience_candidates(site.id, AUDIENCE_SCAN + 1)
        found.complete = len(people) <= AUDIENCE_SCAN
        for person in people[:AUDIENCE_SCAN]:
            scores = current_scores(site.programme.scoring, person.scoring, now)
            view = PersonView(stage=person.stage, scores=scores, campaigns=person.campaigns)
            found.scanned += 1
            if targeting.matches(view):
                found.add(person.id, person.email, view, AUDIENCE_EXAMPLES)
        return found

    return await store.read(read)
