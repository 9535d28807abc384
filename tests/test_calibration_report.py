"""The calibration report assembled from plain rows (tracker.domain.calibration.report): bands of the
chosen score, stages, seed 000's test, the current and best cuts, histograms of every score, and
the time to conversion."""

from __future__ import annotations

from tracker.domain.calibration.history import ActionRow, LedgerRow, PersonRow, leads_of
from tracker.domain.calibration.report import DEFAULT_WIDTH, Options, calibration_report, default_width
from tracker.domain.programme.grade import compile_grade
from tracker.domain.scoring import compile_scoring

DAY = 86400.0
SCORING = compile_scoring(
    {
        "scores": {"engagement": {"mql": 8, "sql": 12}, "fit": {}},
        "rules": [{"id": "wp", "score": "engagement", "when": {"type": "download"}, "points": 12}],
    }
)


def test_a_report_from_rows() -> None:
    people = [
        PersonRow(1, 0.0, 4 * DAY, {"known": 0.0, "mql": DAY, "sql": DAY}),
        PersonRow(2, 0.0, None, {"known": 0.0}),
        PersonRow(3, 2 * DAY, 8 * DAY, {"known": 2 * DAY}),
    ]
    ledger = [LedgerRow(1, "engagement", "wp", DAY, 12.0), LedgerRow(2, "fit", "job", 0.0, -5.0)]
    actions = [
        ActionRow(1, DAY, "download", "https://x.fr/files/a.pdf"),
        ActionRow(2, DAY, "download", "https://x.fr/files/a.pdf"),
    ]
    leads = leads_of(people, ledger, SCORING, 0.0, 10 * DAY)
    report = calibration_report(SCORING, Options(0.0, 10 * DAY, "engagement", 4.0), leads, ledger, actions)
    assert (report.leads, report.converted) == (3, 2)
    assert [(b.low, b.leads, b.converted) for b in report.bands] == [
        (0.0, 2, 1),
        (4.0, 0, 0),
        (8.0, 0, 0),
        (12.0, 1, 1),
    ]
    assert [(s.group, s.leads, s.converted) for s in report.stages] == [("known", 2, 1), ("mql", 0, 0), ("sql", 1, 1)]
    assert report.sql == 12 and report.test is not None and report.test.above.leads == 1
    assert report.current is not None and (report.current.leads, report.current.converted) == (1, 1)
    assert report.best is not None and report.best.threshold == 0.0  # both converters: everyone, F1 0.8
    assert [b.low for b in report.distributions["fit"]] == [-8.0, -4.0, 0.0]
    first_visit, mql = report.timings
    assert first_visit.spread is not None and (first_visit.spread.count, first_visit.spread.median) == (2, 5 * DAY)
    assert mql.spread is not None and (mql.spread.count, mql.spread.median) == (1, 3 * DAY)
    download = next(b for b in report.behaviours if b.kind == "download")
    assert (download.key, download.converters, download.others, download.points) == ("/files/a.pdf", 1, 1, 12.0)


def test_grades_are_read_from_the_scores_at_the_reference_moment() -> None:
    grade = compile_grade(
        {
            "fit": "fit",
            "engagement": "engagement",
            "fit_bands": {"A": 0, "B": -10},
            "engagement_bands": {"1": 12, "2": 0},
        },
        SCORING.scores.keys(),
    )
    people = [PersonRow(1, 0.0, 4 * DAY, {"known": 0.0}), PersonRow(2, 0.0, None, {"known": 0.0})]
    # Person 1 had 12 when it converted, then fell to 0; person 2 reaches 12 after a negative fit.
    ledger = [
        LedgerRow(1, "engagement", "wp", DAY, 12.0),
        LedgerRow(1, "engagement", "reset", 5 * DAY, 0.0),
        LedgerRow(2, "fit", "job", 0.0, -20.0),
        LedgerRow(2, "engagement", "wp", 6 * DAY, 12.0),
    ]
    options = Options(0.0, 10 * DAY, "engagement", 4.0)
    leads = leads_of(people, ledger, SCORING, options.start, options.end)
    report = calibration_report(SCORING, options, leads, ledger, [], grade)
    assert report.grades is not None
    assert [(g.group, g.leads, g.converted) for g in report.grades] == [
        ("A1", 1, 1),
        ("A2", 0, 0),
        ("B1", 1, 0),
        ("B2", 0, 0),
    ]
    assert report.grades[0].rate is not None and report.grades[1].rate is None
    assert calibration_report(SCORING, options, leads, ledger, []).grades is None


def test_default_band_width_follows_the_sales_threshold() -> None:
    assert default_width(SCORING, "engagement") == 2.0  # 12 / 6
    assert default_width(SCORING, "fit") == DEFAULT_WIDTH
