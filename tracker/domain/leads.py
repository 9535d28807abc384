"""A lead in a list: who, stage, scores as they are now (decay applied), grade, profile and dates."""

from __future__ import annotations

from typing import Any

from tracker.domain.clock import iso
from tracker.domain.people import PersonRecord
from tracker.domain.scoring import current_scores
from tracker.domain.sites import Site


def lead_summary(site: Site, person: PersonRecord, now: float) -> dict[str, Any]:
    scores = current_scores(site.programme.scoring, person.scoring, now)
    return {
        "id": person.id,
        "email": person.email,
        "user_id": person.user_id,
        "stage": person.stage,
        "scores": scores,
        # The combined grade (A1…) of those scores, None when the programme declares no [grade].
        "grade": site.programme.grade_of(scores),
        "profile": person.profile,
        "created_at": iso(person.created_at),
        "identified_at": iso(person.identified_at),
        "last_seen_at": iso(person.last_seen_at),
    }
