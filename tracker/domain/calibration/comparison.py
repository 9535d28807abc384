"""Conversion by band of one score under the current programme and under a draft, side by side,
for a what-if: the calibration report's table, once per programme, over the same bands.

Each lead is read as the calibration report reads it (``history.reference_of``): at its
conversion if it converted in the period, at the period's end otherwise; a lead converted
before the period is left out.  The draft's score at a conversion comes from the ledger its
replay would write; the current one from the stored ledger, read after the replay for the
converters only (``waiting``), so a what-if keeps a page of people in memory, never a site.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from tracker.domain.calibration.bands import Band, BandCounts, band_json, laid_out
from tracker.domain.calibration.history import LedgerRow, ScoreChange, reference_of, scores_at
from tracker.domain.calibration.report import DEFAULT_CONVERTING, default_width
from tracker.domain.scoring import Scoring


@dataclass(slots=True)
class ConversionComparison:
    score: str
    width: float
    start: float  # the period: a what-if's people seen since ``start``, read at ``end`` (now)
    end: float
    converting: tuple[str, ...] = DEFAULT_CONVERTING
    before: BandCounts = field(init=False)
    after: BandCounts = field(init=False)
    waiting: dict[int, float] = field(default_factory=dict)  # converter → conversion moment

    def __post_init__(self) -> None:
        self.before = BandCounts(self.width)
        self.after = BandCounts(self.width)

    @classmethod
    def of(
        cls, current: Scoring, draft: Scoring, score: str | None, start: float, end: float
    ) -> ConversionComparison | None:
        """The comparison of ``score`` (banded as the calibration report bands it), None without one."""
        if score is None:
            return None
        scoring = current if score in current.scores else draft
        return cls(score, default_width(scoring, score), start, end)

    def add(
        self,
        person_id: int,
        converted_at: float | None,
        before: Mapping[str, float],
        after: Mapping[str, float],
        draft: Scoring,
        replayed: Sequence[ScoreChange],
    ) -> None:
        """Count a lead: ``before`` and ``after`` are its scores at the period's end under each
        programme, ``replayed`` the ledger the draft's replay wrote for it."""
        moment = reference_of(converted_at, self.start, self.end)
        if moment is None:
            return
        at, converted = moment
        if not converted:
            self.before.add(before.get(self.score, 0.0), False)
            self.after.add(after.get(self.score, 0.0), False)
            return
        self.after.add(scores_at(draft, replayed, at).get(self.score, 0.0), True)
        self.waiting[person_id] = at

    def add_stored(self, current: Scoring, person_ids: Sequence[int], ledger: Sequence[LedgerRow]) -> None:
        """Count waiting converters under the current programme from their stored ``ledger``
        (grouped by person, in ledger order; a converter without rows scored nothing)."""
        rows_of = {person_id: list(rows) for person_id, rows in groupby(ledger, key=lambda row: row.person_id)}
        for person_id in person_ids:
            at = self.waiting.pop(person_id)
            self.before.add(scores_at(current, rows_of.get(person_id, []), at).get(self.score, 0.0), True)

    def rows(self) -> tuple[list[Band], list[Band]]:
        """Both tables over the same bands: row i of each is the same band."""
        before, after = laid_out(self.before, self.after)
        return before, after

    def to_json(self) -> dict[str, Any]:
        before, after = self.rows()
        return {
            "score": self.score,
            "width": self.width,
            "converting": list(self.converting),
            "before": [band_json(band) for band in before],
            "after": [band_json(band) for band in after],
        }
