"""The sales API: one lead's whole story, re-routing, owners, and visitor lookup.

Every route needs an API key of its site (see ``keys``).  Scores are returned as
they are *now*, decay applied, and the ledger that explains them comes along.
The list of leads and the exports are in ``exports``.
"""

from __future__ import annotations

from typing import Any

from tracker.domain.clock import iso
from tracker.domain.people import PersonRecord
from tracker.domain.scoring import current_scores
from tracker.domain.sites import Site


def lead_summary(site: Site, person: PersonRecord, now: float) -> dict[str, Any]:
    return {
        "id": person.id,
        "email": person.email,
        "user_id": person.user_id,
        "stage": person.stage,
        "scores": current_scores(site.programme.scoring, person.scoring, now),
        "profile": person.profile,
        "created_at": iso(person.created_at),
        "identified_at": iso(person.identified_at),
        "last_seen_at": iso(person.last_seen_at),
    }
