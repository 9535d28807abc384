"""Leads of a period at their reference moment (tracker.domain.calibration.history): who converted
in the period, scores read from the ledger at that moment with decay, and the stage then."""

from __future__ import annotations

from tracker.domain.calibration.history import LedgerRow, PersonRow, leads_of, scores_at
from tracker.domain.scoring import compile_scoring

DAY = 86400.0
SCORING = compile_scoring(
    {
        "scores": {"engagement": {"mql": 8, "sql": 12, "decay": {"after": "30d", "percent": 50}}, "fit": {}},
        "rules": [{"id": "wp", "score": "engagement", "when": {"type": "download"}, "points": 12}],
    }
)
LEDGER = [
    LedgerRow(1, "engagement", "wp", 0.0, 12.0),
    LedgerRow(1, "fit", "job", 0.0, -5.0),
    LedgerRow(1, "engagement", "decay", 40 * DAY, 6.0),  # written lazily, with the next rule's change
    LedgerRow(1, "engagement", "blog", 40 * DAY, 8.0),
]


def test_scores_at_a_moment_follow_the_ledger_and_decay() -> None:
    assert scores_at(SCORING, LEDGER, -1) == {"engagement": 0.0, "fit": 0.0}
    assert scores_at(SCORING, LEDGER, 29 * DAY) == {"engagement": 12.0, "fit": -5.0}
    assert scores_at(SCORING, LEDGER, 35 * DAY)["engagement"] == 6.0  # decayed at 30 days
    assert scores_at(SCORING, LEDGER, 40 * DAY)["engagement"] == 8.0
    assert scores_at(SCORING, LEDGER, 75 * DAY)["engagement"] == 4.0  # 30 days after the last rule


def test_a_conversion_is_read_before_its_own_outcome_change() -> None:
    # on_outcome = { won = "=0" }: the conversion's reset is at the conversion's moment.
    reset = [*LEDGER[:2], LedgerRow(1, "engagement", "outcome:won", 10 * DAY, 0.0)]
    assert scores_at(SCORING, reset, 10 * DAY)["engagement"] == 12.0
    assert scores_at(SCORING, reset, 10 * DAY + 1)["engagement"] == 0.0


def test_leads_of_a_period_are_seen_at_their_conversion_or_at_the_end() -> None:
    start, end = 30 * DAY, 60 * DAY
    people = [
        PersonRow(1, 0.0, 35 * DAY, {"known": 0.0, "mql": 0.0, "sql": 45 * DAY}),
        PersonRow(2, 0.0, 10 * DAY, {"known": 0.0}),  # converted before the period: not in it
        PersonRow(3, 5 * DAY, 70 * DAY, {"known": 5 * DAY}),  # converts after it: not in this one
    ]
    leads = leads_of(people, LEDGER, SCORING, start, end)
    assert [(lead.person_id, lead.converted, lead.reference) for lead in leads] == [
        (1, True, 35 * DAY),
        (3, False, end),
    ]
    assert leads[0].scores["engagement"] == 6.0 and leads[0].stage == "mql" and leads[0].mql_at == 0.0
    assert leads[1].scores == {"engagement": 0.0, "fit": 0.0} and leads[1].stage == "known"
