"""Who a campaign's targeting would reach now, judged on stored state alone.

A campaign's ``when`` mixes two kinds of conditions: those on the person (scores, stage,
a condition over them), which the store knows at any time, and those on the visit (page
URL, referrer, UTM, device, visit number), which only exist while someone browses.  The
console's "who would see it now" evaluates the first kind with the very checks the
decisions use (``decisions.compile_targeting``) and names the second kind, so the marketer
reads "at least these people, if they also open a matching page".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from tracker.domain.facts import VisitContext
from tracker.domain.programme.grade import Grade
from tracker.domain.targeting import Check, PersonView, compile_targeting

# Keys of [campaigns.when] that read the person, not the visit.
STATE_KEYS = frozenset({"scores", "stage", "condition", "grade"})
# A condition naming a visit variable depends on the visit like a url pattern does.
_VISIT_VARIABLE = re.compile(r"\b(visits|returning)\b")
# The stored state carries no visit: the checks that read one never run here.
_NO_VISIT = VisitContext()


@dataclass(frozen=True, slots=True)
class StateTargeting:
    """The person part of a campaign's targeting, and the ``when`` keys that need a visit."""

    checks: tuple[Check, ...]
    visit_keys: tuple[str, ...]

    def matches(self, person: PersonView) -> bool:
        return all(check(person, _NO_VISIT) for check in self.checks)


def state_targeting(
    when: Mapping[str, Any], score_names: Collection[str], where: str = "when", grade: Grade | None = None
) -> StateTargeting:
    """Split ``when`` into checks on the person and keys on the visit; raises ProgrammeError like the compiler."""
    on_person = {key: value for key, value in when.items() if _reads_person(key, value)}
    return StateTargeting(
        checks=compile_targeting(on_person, frozenset(score_names), where, grade),
        visit_keys=tuple(key for key in when if key not in on_person),
    )


def _reads_person(key: str, value: Any) -> bool:
    if key == "condition":
        return not (isinstance(value, str) and _VISIT_VARIABLE.search(value))
    return key in STATE_KEYS


@dataclass(frozen=True, slots=True)
class Example:
    person_id: int
    email: str | None
    stage: str
    scores: Mapping[str, float]


@dataclass(slots=True)
class Audience:
    """Counts over the scanned people; ``complete`` is False when the scan stopped at its cap."""

    people: int = 0
    anonymous: int = 0
    scanned: int = 0
    complete: bool = True
    examples: list[Example] = field(default_factory=list)

    def add(self, person_id: int, email: str | None, view: PersonView, keep: int) -> None:
        """Count one matching person; the first ``keep`` are kept as examples."""
        if email:
            self.people += 1
        else:
            self.anonymous += 1
        if len(self.examples) < keep:
            self.examples.append(Example(person_id, email, view.stage, view.scores))
