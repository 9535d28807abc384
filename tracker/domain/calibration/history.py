"""Each lead of a period as calibration sees it: converted or not, and its scores and stage at
its reference moment.

The reference moment is the conversion for a converter, the end of the period for everyone
else.  Scores are read at that moment, not now: a lead's score keeps moving after it converts
(and decays), so only the score it had when it converted says whether the grid saw it coming.
The ledger holds every change with its time, so that score is exact, decay included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Protocol

from tracker.domain.facts import STAGES, ScoreState
from tracker.domain.scoring import DECAY_RULE_ID, OUTCOME_RULE_PREFIX, Scoring, current_scores
from tracker.domain.values import value


@dataclass(frozen=True, slots=True)
class PersonRow:
    """A lead of the period as the store reads it."""

    person_id: int
    first_seen: float | None  # its first event (every device, merges included)
    converted_at: float | None  # its first outcome of a converting kind, ever
    stages: Mapping[str, float] = field(default_factory=dict)  # stage → when it was entered


@value
class LedgerRow:
    """A row of the ledger (a ``value``, not a frozen dataclass: a report makes hundreds of thousands)."""

    person_id: int
    score: str
    rule_id: str
    ts: float
    after: float


class ScoreChange(Protocol):
    """A ledger row as ``scores_at`` reads it: a stored one, or one a replay would write."""

    @property
    def score(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def ts(self) -> float: ...
    @property
    def after(self) -> float: ...


@value
class ActionRow:
    """A page view or a download, or the ``times`` a lead did the same within its window (``ts``: the last)."""

    person_id: int
    ts: float
    type: str
    url: str
    times: int = 1


@dataclass(frozen=True, slots=True)
class Lead:
    person_id: int
    reference: float
    converted: bool
    scores: Mapping[str, float]
    stage: str
    first_seen: float | None
    mql_at: float | None


def leads_of(
    people: Iterable[PersonRow], ledger: Iterable[LedgerRow], scoring: Scoring, start: float, end: float
) -> list[Lead]:
    """The period's leads (``ledger`` grouped by person, as the store reads it).

    Those who converted before ``start`` are left out (their conversion belongs to an earlier
    period); a conversion at or after ``end`` is not one of this period.
    """
    rows_of = {person_id: list(rows) for person_id, rows in groupby(ledger, key=lambda row: row.person_id)}
    leads: list[Lead] = []
    for person in people:
        moment = reference_of(person.converted_at, start, end)
        if moment is None:
            continue
        reference, converted = moment
        mql_at = person.stages.get("mql")
        leads.append(
            Lead(
                person_id=person.person_id,
                reference=reference,
                converted=converted,
                scores=scores_at(scoring, rows_of.get(person.person_id, []), reference),
                stage=_stage_at(person.stages, reference),
                first_seen=person.first_seen,
                mql_at=mql_at,
            )
        )
    return leads


def reference_of(converted_at: float | None, start: float, end: float) -> tuple[float, bool] | None:
    """A lead's reference moment in the period and whether it converted in it; None when it
    converted before ``start`` (that conversion belongs to an earlier period)."""
    if converted_at is not None and converted_at < start:
        return None
    if converted_at is not None and converted_at < end:
        return converted_at, True
    return end, False


def scores_at(scoring: Scoring, rows: Sequence[ScoreChange], moment: float) -> dict[str, float]:
    """Every score at ``moment`` from a person's ledger rows (in ledger order), decay included:
    the value the last row left, decayed from the last rule's change as scoring reads it.

    An outcome's own change at ``moment`` is left out: read at a conversion, a score is the one
    the lead converted with, not what ``on_outcome = { won = "=0" }`` made of it.
    """
    state = ScoreState()
    for row in rows:
        if row.ts > moment or (row.ts == moment and row.rule_id.startswith(OUTCOME_RULE_PREFIX)):
            continue
        state.values[row.score] = row.after
        if row.rule_id != DECAY_RULE_ID:
            state.last[row.score] = max(state.last.get(row.score, row.ts), row.ts)
    return current_scores(scoring, state, moment)


def _stage_at(stages: Mapping[str, float], moment: float) -> str:
    reached = [stage for stage in STAGES if stage in stages and stages[stage] <= moment]
    return reached[-1] if reached else "known"
