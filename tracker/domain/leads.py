"""A lead in a list: who, stage, scores as they are now (decay applied), profile and dates."""

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
