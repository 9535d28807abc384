"""Re-scoring a person's history with another programme, and what that does to a whole site.

One function decides a person's new scores and stage (``rescore``) and one tally sums what a
site's people went through (``Tally``), so a what-if (nothing written) and a real rescore
(written, batch after batch) cannot tell different stories.

Stages stay forward only, as everywhere in tracker: the new grid may promote a lead, never
demote one (sales may already be working it).  A lead whose new scores no longer warrant its
stage keeps it and is counted as "no longer qualifies", so marketing sees what a stricter
grid would have filtered out.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tracker.domain.facts import STAGE_RANK, STAGES, Event, ScoreState
from tracker.domain.identity import is_identified
from tracker.domain.people import PersonRecord
from tracker.domain.scoring import ScoreDef, Scoring, ScoringResult, replay
from tracker.domain.stages import stage_of
from tracker.domain.values import value

# People named one by one in a summary; beyond it they are counted (a summary stays small).
SAMPLE = 200
# Finite bands of a score's distribution, between "below 0" and "at or above the last edge".
BANDS = 8
# The band width puts the highest threshold on an edge: half the bands below it, half above.
_BANDS_BELOW_TOP = 4
# A score with no threshold gets bands as if its top threshold were this.
_DEFAULT_TOP = 20.0


@value
class Standing:
    """What a re-scoring needs of a stored person: its stage, whether it is identified and its
    scoring state now; a what-if reads only these, not the whole record (``PersonRecord``)."""

    id: int
    stage: str
    identified: bool
    scoring: ScoreState

    @classmethod
    def of(cls, person: PersonRecord) -> Standing:
        return cls(person.id, person.stage, is_identified(person), person.scoring)


@dataclass(frozen=True, slots=True)
class Rescored:
    """One person's history replayed through a programme, and the stage that leaves them in."""

    result: ScoringResult
    before: str  # the stored stage
    after: str  # the stage after a rescore: never below ``before``
    warranted: str  # the stage the new scores alone warrant (may be below ``before``)

    @property
    def entered(self) -> list[str]:
        """The stages a rescore records, lowest first."""
        low, high = STAGE_RANK[self.before], STAGE_RANK[self.after]
        return [stage for stage in STAGES if low < STAGE_RANK[stage] <= high]

    @property
    def no_longer_qualifies(self) -> bool:
        return STAGE_RANK[self.warranted] < STAGE_RANK[self.before]


def rescore(scoring_result: ScoringResult, person: Standing) -> Rescored:
    """The stage ``person`` ends in once its scores are ``scoring_result``'s."""
    warranted = stage_of(person.identified, scoring_result.state)
    after = max(person.stage, warranted, key=STAGE_RANK.__getitem__)
    return Rescored(scoring_result, person.stage, after, warranted)


def rescore_history(scoring: Scoring, person: Standing, events: Iterable[Event]) -> Rescored:
    """Replay ``events`` through ``scoring`` and place ``person`` by the result."""
    return rescore(replay(scoring, events), person)


def band_edges(*defs: ScoreDef | None) -> list[float]:
    """The edges of a score's bands, alike for both sides of a comparison (from the higher thresholds)."""
    thresholds = [t for d in defs if d is not None for t in (d.mql, d.sql) if t is not None and t > 0]
    top = max(thresholds, default=_DEFAULT_TOP)
    width = max(1.0, float(math.ceil(top / _BANDS_BELOW_TOP)))
    return [width * index for index in range(BANDS + 1)]


def band_labels(edges: list[float]) -> list[str]:
    """One label per band of ``band_of``: ``< 0``, ``0–3``, …, ``≥ 24``."""
    middle = [f"{low:g}–{high:g}" for low, high in itertools.pairwise(edges)]
    return [f"< {edges[0]:g}", *middle, f"≥ {edges[-1]:g}"]


def band_of(edges: list[float], score: float) -> int:
    """0: below the first edge; i: from edge i-1 up to edge i; len(edges): at or above the last."""
    return bisect.bisect_right(edges, score)


@dataclass(slots=True)
class Tally:
    """What a site's people went through: stages before and after, who moved, scores' distributions."""

    edges: dict[str, list[float]]
    people: int = 0
    changed: int = 0
    no_longer_qualify: int = 0
    stages_before: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    stages_after: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    bands_before: dict[str, list[int]] = field(default_factory=dict)
    bands_after: dict[str, list[int]] = field(default_factory=dict)
    sample: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def for_scores(cls, edges: Mapping[str, list[float]]) -> Tally:
        tally = cls({name: list(e) for name, e in edges.items()})
        for name, score_edges in tally.edges.items():
            tally.bands_before[name] = [0] * (len(score_edges) + 1)
            tally.bands_after[name] = [0] * (len(score_edges) + 1)
        return tally

    def add(
        self,
        person: Standing,
        rescored: Rescored,
        before: Mapping[str, float],
        after: Mapping[str, float],
    ) -> None:
        """Count one person: ``before`` and ``after`` are its scores now under each programme."""
        self.people += 1
        self.stages_before[rescored.before] += 1
        self.stages_after[rescored.after] += 1
        for name, edges in self.edges.items():
            # band_of, inlined: a what-if counts each score of each of a site's people twice.
            self.bands_before[name][bisect.bisect_right(edges, before.get(name, 0.0))] += 1
            self.bands_after[name][bisect.bisect_right(edges, after.get(name, 0.0))] += 1
        moved = rescored.after != rescored.before
        self.changed += moved
        self.no_longer_qualify += rescored.no_longer_qualifies
        if (moved or rescored.no_longer_qualifies) and len(self.sample) < SAMPLE:
            self.sample.append(
                {
                    # No e-mail: a rescore keeps the summary, and erasure must not have to look there.
                    "id": person.id,
                    "before": rescored.before,
                    "after": rescored.after,
                    "warranted": rescored.warranted,
                }
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "changed": self.changed,
            "no_longer_qualify": self.no_longer_qualify,
            "stages": {"before": dict(self.stages_before), "after": dict(self.stages_after)},
            "scores": {
                name: {"edges": edges, "before": self.bands_before[name], "after": self.bands_after[name]}
                for name, edges in self.edges.items()
            },
            "people_listed": list(self.sample),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tally:
        scores: Mapping[str, Any] = data["scores"]
        return cls(
            edges={name: [float(e) for e in s["edges"]] for name, s in scores.items()},
            people=int(data["people"]),
            changed=int(data["changed"]),
            no_longer_qualify=int(data["no_longer_qualify"]),
            stages_before={k: int(v) for k, v in data["stages"]["before"].items()},
            stages_after={k: int(v) for k, v in data["stages"]["after"].items()},
            bands_before={name: [int(n) for n in s["before"]] for name, s in scores.items()},
            bands_after={name: [int(n) for n in s["after"]] for name, s in scores.items()},
            sample=[dict(row) for row in data["people_listed"]],
        )


def score_edges(before: Mapping[str, ScoreDef], after: Mapping[str, ScoreDef]) -> dict[str, list[float]]:
    """Band edges for every score either programme declares."""
    names = list(before) + [name for name in after if name not in before]
    return {name: band_edges(before.get(name), after.get(name)) for name in names}
