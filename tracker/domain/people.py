"""A person and a device (visitor) as a write unit loads, changes and saves them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tracker.domain.facts import CampaignMemory, ScoreState

# A visit ends after 30 minutes without an event (the usual analytics convention).
SESSION_GAP = 30 * 60.0


@dataclass(slots=True)
class PersonRecord:
    """A person loaded for one write unit; mutated in memory, then saved once."""

    id: int
    site_id: int
    email: str | None
    user_id: str | None
    stage: str
    profile: dict[str, Any]
    scoring: ScoreState
    campaigns: dict[str, CampaignMemory]
    created_at: float
    identified_at: float | None
    last_seen_at: float
    updated_at: float

    def copy(self) -> PersonRecord:
        """A copy a unit may change freely.

        ``scoring`` and each campaign's memory are shared: they are only ever replaced, never
        changed in place (``scoring.apply_event`` and ``decisions.record_feedback`` copy first).
        The profile is changed in place (``identity.update_profile``), so it is copied.
        """
        # Spelled out: dataclasses.replace reads the fields each time, several times slower.
        return PersonRecord(
            self.id,
            self.site_id,
            self.email,
            self.user_id,
            self.stage,
            dict(self.profile),
            self.scoring,
            dict(self.campaigns),
            self.created_at,
            self.identified_at,
            self.last_seen_at,
            self.updated_at,
        )


@dataclass(slots=True)
class VisitorRecord:
    id: str
    site_id: int
    person_id: int
    visits: int
    device: str
    browser: str
    created_at: float
    last_seen_at: float
    # Why the device was caught as a bot (see ``abuse``), None for a human.
    bot: str | None = None
    # The number events and decisions name the device by (its row's key); 0 until the row is inserted.
    num: int = 0

    def copy(self) -> VisitorRecord:
        return VisitorRecord(
            self.id,
            self.site_id,
            self.person_id,
            self.visits,
            self.device,
            self.browser,
            self.created_at,
            self.last_seen_at,
            self.bot,
            self.num,
        )
