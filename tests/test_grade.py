"""The combined grade (tracker.domain.programme.grade): bands, errors naming the key, targeting and routing on it."""

from __future__ import annotations

import pytest

from tracker.domain.decisions import decide
from tracker.domain.facts import VisitContext
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.load import Programme, load_programme
from tracker.domain.routing import LeadView, choose_route
from tracker.domain.targeting import PersonView

from .conftest import SEED_GRID

GRADE = """
[grade]
fit = "fit"
engagement = "engagement"
fit_bands = { A = 60, B = 30, C = 0 }
engagement_bands = { 1 = 50, 2 = 20, 3 = 0 }
"""
TARGETED = """
[[campaigns]]
id = "best"
kind = "banner"
text = "Parlons-en"
when = { grade = ["A1", "A2"] }

[[routes]]
id = "key-accounts"
queue = "key-accounts"
stage = "known"
when = { grade = "A1" }
"""


# The seed programme up to its campaigns: scores, rules and routes.
SEED_SCORING = SEED_GRID.split("[[campaigns]]")[0]


def programme(extra: str = "") -> Programme:
    return load_programme(SEED_SCORING + GRADE + extra)


@pytest.mark.parametrize(
    ("fit", "engagement", "grade"),
    [(60, 50, "A1"), (59.99, 50, "B1"), (30, 49, "B2"), (0, 0, "C3"), (-12, -4, "C3"), (100, 20, "A2")],
)
def test_each_score_falls_in_the_highest_band_it_reaches(fit: float, engagement: float, grade: str) -> None:
    assert programme().grade_of({"fit": fit, "engagement": engagement}) == grade


def test_every_grade_best_first_and_no_grade_without_the_section() -> None:
    graded = programme().grade
    assert graded is not None
    assert graded.grades == ("A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2", "C3")
    assert graded.of({}) == "C3"  # never scored counts as 0
    assert load_programme(SEED_GRID).grade_of({"fit": 99}) is None


def test_campaigns_and_routes_target_grades() -> None:
    seen = programme(TARGETED)
    at = VisitContext(url="https://imprimantes.example/demo/", session="v:1")

    def shown(fit: float, engagement: float) -> bool:
        view = PersonView("known", {"fit": fit, "engagement": engagement}, {})
        return any(d.campaign == "best" for d in decide(seen.campaigns, view, at, 0.0))

    assert shown(70, 30) and shown(70, 60) and not shown(70, 10) and not shown(40, 60)
    route = choose_route(seen.routes, LeadView("known", {"fit": 61, "engagement": 55}, {}))
    assert route is not None and route.id == "key-accounts"
    assert choose_route(seen.routes, LeadView("known", {"fit": 61, "engagement": 45}, {})) is None


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("[grade]\nfit = 'fit'", "grade.engagement"),
        (GRADE + "colour = 'red'", "grade.colour"),
        (GRADE.replace('fit = "fit"', 'fit = "size"'), "grade.fit"),
        (GRADE.replace("{ A = 60, B = 30, C = 0 }", "{}"), "grade.fit_bands"),
        (GRADE.replace("{ A = 60, B = 30, C = 0 }", "3"), "grade.fit_bands"),
        (GRADE.replace("B = 30", "B = 'high'"), "grade.fit_bands.B"),
        (GRADE.replace("B = 30", "B = 60"), "grade.fit_bands.B"),
        (GRADE.replace("B = 30", '"B+" = 30'), "grade.fit_bands.B+"),
        (
            GRADE.replace("{ A = 60, B = 30, C = 0 }", "{ A1 = 60, A = 0 }").replace("1 = 50, ", "11 = 50, 1 = 40, "),
            "grade.engagement_bands",
        ),
        (GRADE + TARGETED.replace('["A1", "A2"]', '["A1", "D4"]'), "campaigns[best].when.grade"),
        (GRADE + TARGETED.replace('grade = "A1"', "grade = []"), "routes[key-accounts].when.grade"),
        (TARGETED, "campaigns[best].when.grade"),  # no [grade] to target
    ],
)
def test_grade_errors_name_the_key(source: str, where: str) -> None:
    with pytest.raises(ProgrammeError) as info:
        load_programme(SEED_SCORING + source)
    assert info.value.where == where
