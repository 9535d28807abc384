"""A proposed change of one score's MQL/SQL thresholds: read from what a person typed, and written
into a programme's TOML source with every comment and the layout kept (tomlkit)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from tomlkit.items import InlineTable, Table

from tracker.domain.programme.edit import keep_thresholds, parse
from tracker.domain.programme.thresholds import NO_THRESHOLDS, Thresholds

# Messages are catalog ids: the console shows them translated next to their field.
NOT_A_SCORE = "Choose a score of the programme."
NOT_A_NUMBER = "Enter a number, such as 12 or 12.5."
SQL_BELOW_MQL = "The SQL threshold must be at least the MQL threshold."
NOTHING_TO_CHANGE = "Nothing to change: these are the current thresholds."
REASON_NEEDED = "Say why, so that the other side can decide."
REASON_LIMIT = 2000


class InvalidProposal(Exception):
    """What is wrong with a proposal, by form field (score, mql, sql, reason)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True, slots=True)
class ThresholdChange:
    score: str
    before: Thresholds
    after: Thresholds
    reason: str


def read_change(current: Mapping[str, Thresholds], score: str, mql: str, sql: str, reason: str) -> ThresholdChange:
    """The change a form asks for; a blank threshold keeps its current value.

    Raises ``InvalidProposal`` naming every field that is wrong.
    """
    errors: dict[str, str] = {}
    if score not in current:
        errors["score"] = NOT_A_SCORE
    before = current.get(score, NO_THRESHOLDS)
    after: list[float | None] = list(before)
    for position, (name, raw) in enumerate((("mql", mql), ("sql", sql))):
        if raw.strip():
            value = _number(raw)
            if value is None:
                errors[name] = NOT_A_NUMBER
            else:
                after[position] = value
    reason = reason.strip()
    if not reason or len(reason) > REASON_LIMIT:
        errors["reason"] = REASON_NEEDED
    new_mql, new_sql = after
    if "mql" not in errors and "sql" not in errors and "score" not in errors:
        if new_mql is not None and new_sql is not None and new_sql < new_mql:
            errors["sql"] = SQL_BELOW_MQL
        elif (new_mql, new_sql) == before:
            errors["mql" if not sql.strip() else "sql"] = NOTHING_TO_CHANGE
    if errors:
        raise InvalidProposal(errors)
    return ThresholdChange(score, before, (new_mql, new_sql), reason)


def _number(raw: str) -> float | None:
    # A French reader types "12,5".
    try:
        value = float(raw.strip().replace(",", ".", 1))
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) < 1e9 else None


def with_thresholds(source: str, score: str, thresholds: Thresholds) -> str:
    """``source`` with ``[scores.<score>]`` given these thresholds (None: no threshold), all else as it was."""
    scores = parse(source).get("scores")
    if not isinstance(scores, Table) or not isinstance(scores.get(score), (Table, InlineTable)):
        raise KeyError(score)
    return keep_thresholds(source, {score: thresholds})
