"""Re-scoring one person and tallying a site (domain/rescoring.py): stages move forward only, bands put
the top threshold on an edge, and a tally survives the round trip through a job's stored summary."""

from __future__ import annotations

from tracker.domain.facts import Event, ScoreState
from tracker.domain.people import PersonRecord
from tracker.domain.programme.load import load_programme
from tracker.domain.rescoring import Standing, Tally, band_edges, band_labels, band_of, rescore_history, score_edges
from tracker.domain.scoring import ScoreDef

from .conftest import SEED_GRID

SCORING = load_programme(SEED_GRID).scoring


def person(stage: str, email: str | None = "a@example.fr") -> Standing:
    return Standing.of(PersonRecord(1, 1, email, None, stage, {}, ScoreState(), {}, 0.0, 0.0, 0.0, 0.0))


def download(paper: str, event_id: int = 1) -> Event:
    return Event(event_id, "download", 10.0, "", f"http://shop.test/livre-blanc-{paper}.pdf", "", {}, 1)


def test_a_rescore_promotes_but_never_demotes() -> None:
    promoted = rescore_history(SCORING, person("known"), [download("c")])
    assert (promoted.after, promoted.entered, promoted.no_longer_qualifies) == ("sql", ["mql", "sql"], False)
    kept = rescore_history(SCORING, person("sql"), [download("a")])
    assert (kept.after, kept.warranted, kept.entered, kept.no_longer_qualifies) == ("sql", "known", [], True)
    anonymous = rescore_history(SCORING, person("anonymous", email=None), [download("c")])
    assert (anonymous.after, anonymous.entered) == ("anonymous", [])


def test_bands_put_the_top_threshold_on_an_edge() -> None:
    engagement = SCORING.scores["engagement"]
    assert band_edges(engagement) == [0, 3, 6, 9, 12, 15, 18, 21, 24]
    assert band_edges(engagement, ScoreDef("engagement", 10, 30, None))[4] == 32  # the higher top of both
    assert band_edges(None) == [0, 5, 10, 15, 20, 25, 30, 35, 40]
    edges = band_edges(engagement)
    assert [band_of(edges, v) for v in (-1, 0, 2.99, 3, 24, 1000)] == [0, 1, 1, 2, 9, 9]
    assert band_labels([0, 3, 6]) == ["< 0", "0–3", "3–6", "≥ 6"]


def test_a_tally_counts_and_survives_its_stored_form() -> None:
    tally = Tally.for_scores(score_edges(SCORING.scores, SCORING.scores))
    who = person("known")
    moved = rescore_history(SCORING, who, [download("c")])
    tally.add(who, moved, {"engagement": 0.0}, {"engagement": 12.0})
    same = rescore_history(SCORING, person("known"), [])
    tally.add(person("known"), same, {}, {})
    data = tally.to_json()
    assert (data["people"], data["changed"], data["no_longer_qualify"]) == (2, 1, 0)
    assert data["stages"]["after"] == {"anonymous": 0, "known": 1, "mql": 0, "sql": 1}
    assert data["scores"]["engagement"]["after"][5] == 1  # 12 is in 12–15
    assert data["people_listed"] == [{"id": 1, "before": "known", "after": "sql", "warranted": "sql"}]
    assert Tally.from_json(data).to_json() == data
