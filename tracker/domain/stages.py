"""Lifecycle stages: anonymous → known → mql → sql, forward only.

A person becomes "known" when identified and then climbs with the thresholds its
scores have reached.  Stages never go back (a decayed score does not un-qualify a
lead sales already has).
"""

from __future__ import annotations

from tracker.domain.facts import ScoreState
from tracker.domain.identity import is_identified
from tracker.domain.people import PersonRecord
from tracker.domain.scoring import threshold_level


def stage_for(person: PersonRecord) -> str:
    return stage_of(is_identified(person), person.scoring)


def stage_of(identified: bool, scoring: ScoreState) -> str:
    """The stage an identified (or anonymous) person with these scores warrants."""
    if not identified:
        return "anonymous"
    return threshold_level(scoring) or "known"
