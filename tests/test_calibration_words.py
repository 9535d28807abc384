"""Seed 000's test in words (tracker.web.admin.calibration_words), in English and French."""

from __future__ import annotations

from typing import get_args

from tracker.domain.calibration.intervals import wilson
from tracker.domain.calibration.threshold import Side, ThresholdTest, Verdict
from tracker.web.admin.calibration_words import VERDICTS, verdict_words


def test_each_verdict_in_words_with_both_intervals() -> None:
    test = ThresholdTest(12.0, Side(40, 20, wilson(20, 40)), Side(60, 3, wilson(3, 60)), "better")
    english = verdict_words(test, "en")
    assert english.startswith("Leads at or above the SQL threshold (12) converted better: 50 % of 40 leads")
    assert "(95 % interval 35.2 % to 64.8 %)" in english and "5 % of 60 below it (1.7 % to 13.7 %)" in english
    french = verdict_words(test, "fr")
    assert "ont mieux converti : 50 % de 40 leads (intervalle à 95 % de 35,2 % à 64,8 %)" in french
    assert set(VERDICTS) == set(get_args(Verdict))  # every verdict has its words
    for verdict in get_args(Verdict):
        words = verdict_words(ThresholdTest(12.0, test.above, test.below, verdict), "en")
        assert "%(" not in words and ("(12)" in words) == (verdict != "no_conversion")
