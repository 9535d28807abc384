"""Lifecycle stages: anonymous → known → mql → sql, forward only.

A person becomes "known" when identified and then climbs with the thresholds its
scores have reached.  Stages never go back (a decayed score does not un-qualify a
lead sales already has).
"""

from __future__ import annotations

from tracker.domain.identity import is_identified
from tracker.domain.people import PersonRecord
from tracker.domain.scoring import threshold_level


def stage_for(person: PersonRecord) -> str:
    if not is_identified(person):
        return "anonymous"
    return threshold_level(person.scoring) or "known"
