"""Which leads a list or an export wants: one record shared by the API, the console, the CLI and the store.

The store narrows on what SQL can judge (stage, stored score, routing, dates, a coarse text
match); ``admits`` then decides with the score as it is now (decay only lowers a stored value)
and the exact, case-insensitive search.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.domain.people import PersonRecord


@dataclass(frozen=True, slots=True)
class LeadFilter:
    stages: tuple[str, ...]
    score: str  # the score to sort and filter by
    min_score: float | None = None  # decayed value at least this
    max_score: float | None = None  # decayed value at most this
    since: float | None = None  # last seen at or after
    new_since: float | None = None  # entered its current stage at or after ("new since my last visit")
    queue: str | None = None  # routed to this queue now
    owner: str | None = None  # routed to this owner now ("my leads")
    search: str | None = None  # part of the e-mail or of the company, any case

    @property
    def needle(self) -> str | None:
        return self.search.casefold() if self.search else None

    def admits(self, person: PersonRecord, value: float) -> bool:
        """Whether a row the store returned passes, ``value`` being the score decayed to the page's moment."""
        if self.min_score is not None and value < self.min_score:
            return False
        if self.max_score is not None and value > self.max_score:
            return False
        needle = self.needle
        if needle is None:
            return True
        company = person.profile.get("company")
        return needle in (person.email or "").casefold() or (isinstance(company, str) and needle in company.casefold())
