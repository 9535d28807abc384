"""A proposed threshold change (domain/programme/threshold_edit.py): read from a form, written into TOML."""

from __future__ import annotations

import pytest

from tracker.domain.programme.load import load_programme
from tracker.domain.programme.threshold_edit import (
    NOT_A_NUMBER,
    NOT_A_SCORE,
    NOTHING_TO_CHANGE,
    REASON_NEEDED,
    SQL_BELOW_MQL,
    InvalidProposal,
    read_change,
    with_thresholds,
)

from .conftest import SEED_GRID


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"sql": "quatorze"}, {"sql": NOT_A_NUMBER}),
        ({"mql": "nan", "sql": "1e999"}, {"mql": NOT_A_NUMBER, "sql": NOT_A_NUMBER}),
        ({"mql": "13", "sql": ""}, {"sql": SQL_BELOW_MQL}),
        ({"sql": "12"}, {"sql": NOTHING_TO_CHANGE}),
        ({"sql": ""}, {"mql": NOTHING_TO_CHANGE}),
        ({"score": "nope", "reason": ""}, {"score": NOT_A_SCORE, "reason": REASON_NEEDED}),
    ],
)
def test_what_a_proposal_form_may_hold(fields: dict[str, str], errors: dict[str, str]) -> None:
    form = {"score": "engagement", "mql": "", "sql": "14", "reason": "why", **fields}
    with pytest.raises(InvalidProposal) as refused:
        read_change({"engagement": (8.0, 12.0)}, **form)
    assert refused.value.errors == errors


def test_a_french_decimal_comma_is_a_number() -> None:
    assert read_change({"engagement": (8.0, 12.0)}, "engagement", "", "12,5", "why").after == (8.0, 12.5)


def test_only_the_thresholds_change_in_the_source() -> None:
    changed = with_thresholds(SEED_GRID, "engagement", (9.0, 14.5))
    assert load_programme(changed).thresholds()["engagement"] == (9.0, 14.5)
    differ = [(a, b) for a, b in zip(SEED_GRID.splitlines(), changed.splitlines(), strict=True) if a != b]
    assert differ == [
        ("mql = 8", "mql = 9"),
        ("sql = 12                      # agreed with sales: change it only with them",
         "sql = 14.5                      # agreed with sales: change it only with them"),
    ]  # fmt: skip


def test_a_threshold_can_be_added_or_removed() -> None:
    added = with_thresholds(SEED_GRID, "fit", (None, 3.0))
    assert load_programme(added).thresholds()["fit"] == (None, 3.0)
    removed = with_thresholds(SEED_GRID, "engagement", (None, 12.0))
    assert load_programme(removed).thresholds()["engagement"] == (None, 12.0)
    inline = with_thresholds("[scores]\nengagement = { mql = 8, sql = 12 }  # agreed\n", "engagement", (8.0, 14.0))
    assert inline == "[scores]\nengagement = { mql = 8, sql = 14 }  # agreed\n"
    with pytest.raises(KeyError):
        with_thresholds(SEED_GRID, "gone", (1.0, 2.0))
