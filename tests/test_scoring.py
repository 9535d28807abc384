from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.domain.facts import Crossing, Event, LedgerEntry, ScoreState
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.load import load_programme
from tracker.domain.scoring import (
    Decay,
    Limit,
    Scoring,
    ScoringResult,
    apply_event,
    compile_scoring,
    current_scores,
    parse_duration,
    replay,
    threshold_level,
)

T0 = 1_700_000_000.0
HOUR = 3600.0
DAY = 86400.0
SITE = "https://imprimantes.example"
SEED_FILE = Path(__file__).resolve().parent.parent / "examples" / "seed-programme.toml"

# The seed programme, kept equal to examples/seed-programme.toml by test_seed_file_holds_the_seed_grid.
SEED_GRID = """
[tokens]
wp_general = 2
wp_choose = 5
wp_vision = 12
quality_blog = 2
demo_request = 30
job_offers = -15

[scores.engagement]
mql = 8
sql = 12
decay = { after = "30d", percent = 50 }
[scores.fit]
[scores.general]
[scores.medical]

[[rules]]
id = "wp-a"
score = "engagement"
when = { type = "download", url = "*/livre-blanc-a*" }
points = "wp_general"
limit = "once"
[[rules]]
id = "wp-b"
score = "engagement"
when = { type = "download", url = "*/livre-blanc-b*" }
points = "wp_choose"
limit = "once"
[[rules]]
id = "wp-c"
score = "engagement"
when = { type = "download", url = "*/livre-blanc-c*" }
points = "wp_vision"
limit = "once"
[[rules]]
id = "quality-blog"
score = "engagement"
when = { type = "page", url = "/demo/blog/qualite/?*" }
points = "quality_blog"
limit = "always"
[[rules]]
id = "pricing"
score = "engagement"
when = { type = "page", url = "/demo/tarifs*" }
points = 5
limit = "once"
[[rules]]
id = "demo-request"
score = "engagement"
when = { form = "demo" }
points = "demo_request"
limit = "once"
[[rules]]
id = "job-offers"
score = "engagement"
when = { type = "page", url = "/demo/emplois*" }
points = "job_offers"
limit = "once"
[[rules]]
id = "fit-buyer"
score = "fit"
when = { fields = { job_title = "~achat|purchas|acheteu[rs]" } }
points = "+10"
limit = "once"
[[rules]]
id = "fit-student"
score = "fit"
when = { fields = { job_title = "~stagiaire|student|étudiant" } }
points = "-10"
limit = "once"
[[rules]]
id = "field-sales"
score = "fit"
when = { type = ["page", "view_product"], props = { price = ">= 10000" } }
points = 5
limit = "once"
[[rules]]
id = "interest-general"
score = "general"
when = { type = "page", url = "/demo/produits/general/?*" }
points = 3
limit = "5/1d"
[[rules]]
id = "interest-medical"
score = "medical"
when = { type = "page", url = "/demo/produits/medical/?*" }
points = 3
limit = "5/1d"
[[rules]]
id = "medical-datasheet"
score = "medical"
when = { type = "download", url = "*/fiche-technique-medical*" }
points = 5
limit = "once"
"""

SEED = compile_scoring(tomllib.loads(SEED_GRID))


class Journey:
    """Builds a visitor's events with increasing ids and times (one minute apart)."""

    def __init__(self, start: float = T0) -> None:
        self.events: list[Event] = []
        self.ts = start

    def add(self, type_: str, path: str = "", name: str = "", **props: Any) -> Journey:
        self.ts += 60
        url = SITE + path if path else ""
        self.events.append(Event(id=len(self.events) + 1, type=type_, ts=self.ts, name=name, url=url, props=props))
        return self

    def page(self, path: str, **props: Any) -> Journey:
        return self.add("page", path, **props)

    def download(self, path: str) -> Journey:
        return self.add("download", path)

    def form(self, name: str, **fields: Any) -> Journey:
        return self.add("form", "/demo/contact", name=name, **fields)

    def quality_posts(self, count: int = 3) -> Journey:
        for n in range(count):
            self.page(f"/demo/blog/qualite/article-{n}")
        return self


def scores_of(result: ScoringResult, scoring: Scoring = SEED) -> dict[str, float]:
    return current_scores(scoring, result.state, result.ledger[-1].ts if result.ledger else T0)


def grid(rules: str, scores: str = "[scores.e]\n", tokens: str = "") -> Scoring:
    return compile_scoring(tomllib.loads(f"[tokens]\n{tokens}\n{scores}\n{rules}"))


def rule(when: str, points: str = "1", limit: str = '"always"', rule_id: str = "r", score: str = "e") -> str:
    return f'[[rules]]\nid = "{rule_id}"\nscore = "{score}"\nwhen = {when}\npoints = {points}\nlimit = {limit}\n'


def event(ts: float = T0, type_: str = "page", event_id: int = 1, **fields: Any) -> Event:
    return Event(id=event_id, type=type_, ts=ts, **fields)


def fold(scoring: Scoring, events: Iterable[Event]) -> ScoringResult:
    """Apply events one by one, carrying the state and concatenating ledgers and crossings."""
    state, ledger, crossings = ScoreState(), [], []
    for ev in sorted(events, key=lambda e: (e.ts, e.id)):
        step = apply_event(scoring, state, ev)
        state = step.state
        ledger.extend(step.ledger)
        crossings.extend(step.crossings)
    return ScoringResult(state, ledger, crossings)


# --- the seed programme ---------------------------------------------------------------------------


def test_seed_file_holds_the_seed_grid() -> None:
    doc = tomllib.loads(SEED_FILE.read_text(encoding="utf-8"))
    expected = tomllib.loads(SEED_GRID)
    # Descriptions are how the console words a rule ("+12 Livre blanc C"), not part of the grid.
    doc["rules"] = [{key: value for key, value in rule.items() if key != "description"} for rule in doc["rules"]]
    assert {key: doc[key] for key in ("tokens", "scores", "rules")} == expected
    assert SEED.scores["engagement"].decay == Decay(after=30 * DAY, percent=50.0)
    assert [r.id for r in SEED.rules][:3] == ["wp-a", "wp-b", "wp-c"]


def test_events_of_a_type_no_rule_scores_change_nothing_in_a_replay() -> None:
    unscored = SEED.unscored_types()
    assert {"impression", "click", "engaged"} <= unscored and not {"page", "download", "form"} & unscored
    journey = Journey().page("/demo/").add("impression").download("/demo/files/livre-blanc-a.pdf").add("engaged")
    journey.quality_posts().add("click").form("contact", email="marc@acme.fr").add("close")
    every = replay(SEED, journey.events)
    assert every.ledger and replay(SEED, [e for e in journey.events if e.type not in unscored]) == every
    # A rule of any type leaves no type unscored but outcomes, which only a score's on_outcome scores.
    any_type = grid('[[rules]]\nid = "x"\nscore = "e"\nwhen = { url = "*/x" }\npoints = 1\n')
    assert any_type.unscored_types() == {"outcome"}


def test_a_rule_is_labelled_by_its_description_else_its_id() -> None:
    rule = {"score": "engagement", "when": {"type": "page"}, "points": 1}
    scoring = compile_scoring(
        {
            "scores": {"engagement": {}},
            "rules": [{**rule, "id": "a", "description": " Livre blanc C "}, {**rule, "id": "b"}],
        }
    )
    assert [r.label for r in scoring.rules] == ["Livre blanc C", "b"]
    with pytest.raises(ProgrammeError, match="expected text"):
        compile_scoring({"scores": {"engagement": {}}, "rules": [{**rule, "id": "a", "description": 3}]})


def test_an_outcome_event_never_scores_by_rules() -> None:
    scoring = compile_scoring(
        {
            "scores": {"engagement": {}},
            "rules": [{"id": "any", "score": "engagement", "when": {"url": "*"}, "points": 1}],
        }
    )
    assert scoring.candidates("outcome") == () and scoring.candidates("page")


# --- on_outcome and max ---------------------------------------------------------------------------

RESET_GRID = """
[tokens]
bonus = 4
[scores.e]
mql = 8
max = 20
on_outcome = { lost = "=0", meeting = "+bonus" }
[scores.fit]
on_outcome = { lost = "-3" }
[[rules]]
id = "page"
score = "e"
when = { type = "page" }
points = 6
limit = "always"
"""


def outcome(kind: str, ts: float, event_id: int) -> Event:
    return Event(id=event_id, type="outcome", ts=ts, name=kind, props={"actor": "user:1"})


def test_a_lost_outcome_resets_a_score_in_the_ledger_by_its_outcome_row() -> None:
    scoring = compile_scoring(tomllib.loads(RESET_GRID))
    pages = [event(T0 + i, event_id=i) for i in range(1, 3)]
    result = fold(scoring, [*pages, outcome("lost", T0 + 10, 3), outcome("won", T0 + 11, 4)])
    assert result.state.values == {"e": 0.0, "fit": -3.0}
    assert [(row.rule_id, row.score, row.op, row.points) for row in result.ledger[2:]] == [
        ("outcome:lost", "e", "set", -12.0),
        ("outcome:lost", "fit", "add", -3.0),
    ]  # "won" resets nothing: no score names it
    assert fold(scoring, [outcome("meeting", T0, 1)]).state.values == {"e": 4.0}  # a token, like rules


def test_a_score_never_goes_above_its_max_and_the_ledger_says_so() -> None:
    scoring = compile_scoring(tomllib.loads(RESET_GRID))
    result = fold(scoring, [event(T0 + i, event_id=i) for i in range(1, 6)])  # 5 pages of 6 points
    assert result.state.values == {"e": 20.0}
    assert [(row.op, row.points, row.after) for row in result.ledger] == [
        ("add", 6.0, 6.0),
        ("add", 6.0, 12.0),
        ("add", 6.0, 18.0),
        ("cap", 2.0, 20.0),  # +6 asked, +2 applied
        ("cap", 0.0, 20.0),  # the rule fired, the cap held
    ]
    assert sum(row.points for row in result.ledger) == 20.0


def test_a_set_above_the_max_is_capped_and_rules_below_it_are_not() -> None:
    scoring = grid(rule("{ type = 'page' }", points='"=50"'), scores="[scores.e]\nmax = 30\n")
    assert [(row.op, row.after) for row in fold(scoring, [event()]).ledger] == [("cap", 30.0)]
    assert [(row.op, row.after) for row in fold(grid(rule("{ type = 'page' }")), [event()]).ledger] == [("add", 1.0)]


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ('[scores.e]\nmax = "lots"', "scores.e.max"),
        ("[scores.e]\nsql = 12\nmax = 10", "scores.e.max"),
        ("[scores.e]\non_outcome = 3", "scores.e.on_outcome"),
        ('[scores.e]\non_outcome = { closed = "=0" }', "scores.e.on_outcome.closed"),
        ('[scores.e]\non_outcome = { lost = "zero" }', "scores.e.on_outcome.lost"),
        ("[scores.e]\non_outcome = { lost = true }", "scores.e.on_outcome.lost"),
        ('[scores.e]\n[[rules]]\nid = "outcome:lost"\nscore = "e"', "rules[outcome:lost].id"),
    ],
)
def test_max_and_on_outcome_errors_name_the_key(source: str, where: str) -> None:
    with pytest.raises(ProgrammeError) as info:
        compile_scoring(tomllib.loads(source))
    assert info.value.where == where


def test_marc_reaches_the_sales_threshold_with_13() -> None:
    marc = Journey().page("/demo/").download("/demo/files/livre-blanc-a.pdf")
    marc.download("/demo/files/livre-blanc-b.pdf").quality_posts(3)
    result = replay(SEED, marc.events)
    assert scores_of(result) == {"engagement": 13.0, "fit": 0.0, "general": 0.0, "medical": 0.0}
    assert [(row.rule_id, row.points, row.after) for row in result.ledger] == [
        ("wp-a", 2.0, 2.0),
        ("wp-b", 5.0, 7.0),
        ("quality-blog", 2.0, 9.0),
        ("quality-blog", 2.0, 11.0),
        ("quality-blog", 2.0, 13.0),
    ]
    # The home page (event 1) scores nothing; mql is reached on the first post, sql on the third.
    assert [(c.level, c.event_id) for c in result.crossings] == [("mql", 4), ("sql", 6)]
    assert result.state.reached == {"engagement": "sql"}
    assert threshold_level(result.state) == "sql"


def test_elodie_keeps_being_nurtured_with_5() -> None:
    result = replay(SEED, Journey().page("/demo/").download("/demo/files/livre-blanc-b.pdf").events)
    assert scores_of(result)["engagement"] == 5.0
    assert result.crossings == []
    assert threshold_level(result.state) is None


def test_capucine_jumps_both_thresholds_with_white_paper_c_and_ends_at_18() -> None:
    capucine = Journey().download("/demo/files/livre-blanc-c.pdf").quality_posts(3)
    result = replay(SEED, capucine.events)
    assert scores_of(result)["engagement"] == 18.0
    first = capucine.events[0]
    assert result.crossings == [
        Crossing("engagement", "mql", first.id, first.ts),
        Crossing("engagement", "sql", first.id, first.ts),
    ]
    assert threshold_level(result.state) == "sql"


def test_job_offers_subtract_15_once_and_scores_may_go_negative() -> None:
    result = replay(SEED, Journey().page("/demo/emplois").page("/demo/emplois?poste=technicien").events)
    assert [(row.rule_id, row.op, row.points, row.after) for row in result.ledger] == [
        ("job-offers", "add", -15.0, -15.0)
    ]


def test_demo_request_form_adds_30_and_other_forms_do_not() -> None:
    result = replay(SEED, Journey().form("newsletter").form("demo").form("demo").events)
    assert [(row.rule_id, row.event_id, row.after) for row in result.ledger] == [("demo-request", 2, 30.0)]
    assert [c.level for c in result.crossings] == ["mql", "sql"]


@pytest.mark.parametrize(
    ("job_title", "fit"),
    [
        ("Responsable des achats", 10.0),
        ("Purchasing Manager", 10.0),
        ("Acheteuse industrielle", 10.0),
        ("Stagiaire R&D", -10.0),
        ("Étudiant ingénieur", -10.0),
        ("Directeur technique", 0.0),
    ],
)
def test_fit_from_the_job_title_form_field(job_title: str, fit: float) -> None:
    result = replay(SEED, Journey().form("demo", job_title=job_title).events)
    assert scores_of(result)["fit"] == fit
    assert scores_of(result)["engagement"] == 30.0


def test_fit_rules_need_the_field_and_a_form_event() -> None:
    journey = Journey().form("demo", company="Acme").add("custom", name="quiz", job_title="acheteur")
    assert scores_of(replay(SEED, journey.events))["fit"] == 0.0


def test_general_and_medical_interest_are_separate_scores() -> None:
    journey = Journey().page("/demo/produits/medical/guide-chirurgical").page("/demo/produits/medical/")
    journey.page("/demo/produits/general/p400").download("/demo/files/fiche-technique-medical-m2.pdf")
    result = replay(SEED, journey.events)
    assert scores_of(result) == {"engagement": 0.0, "fit": 0.0, "general": 3.0, "medical": 8.0}


def test_interest_is_capped_at_5_page_views_per_rolling_day() -> None:
    journey = Journey()
    for n in range(7):
        journey.page(f"/demo/produits/general/modele-{n}")
    first_view = journey.events[0].ts
    journey.ts = first_view + DAY - 61  # one second before the first view leaves the window
    journey.page("/demo/produits/general/x")
    journey.ts = first_view + DAY - 60  # exactly one day after the first view: it no longer counts
    journey.page("/demo/produits/general/y")
    result = replay(SEED, journey.events)
    assert [row.event_id for row in result.ledger] == [1, 2, 3, 4, 5, 9]
    assert scores_of(result)["general"] == 18.0
    assert result.state.hits["interest-general"] == [e.ts for e in journey.events if e.id in (2, 3, 4, 5, 9)]


def test_field_sales_signal_scores_fit_and_leaves_engagement_alone() -> None:
    journey = Journey().page("/demo/produits/general/p900", price=12000)
    journey.add("custom", name="view_product", price="15000")
    result = replay(SEED, journey.events)
    assert [(row.rule_id, row.score) for row in result.ledger] == [
        ("field-sales", "fit"),
        ("interest-general", "general"),
    ]
    assert scores_of(result)["engagement"] == 0.0


@pytest.mark.parametrize(
    "ev",
    [
        event(props={"price": 499}),
        event(props={}),
        event(type_="custom", name="view_cart", props={"price": 20000}),
        event(type_="download", props={"price": 20000}),
    ],
)
def test_field_sales_signal_needs_a_high_price_on_a_product_view(ev: Event) -> None:
    assert apply_event(SEED, ScoreState(), ev).ledger == []


def test_an_event_that_changes_nothing_gives_the_same_state_back_and_one_that_scores_a_new_one() -> None:
    # The same object back tells the store the person's stored state need not be written again.
    empty = ScoreState()
    scored = apply_event(SEED, empty, event(url="/demo/tarifs"))
    assert scored.state is not empty and scored.state.values and empty == ScoreState()
    state = scored.state
    capped = event(url="/demo/tarifs", ts=T0 + 60)  # the pricing page scores once
    for nothing in (event(type_="custom", name="nothing-scores-this"), event(props={"price": 499}), capped):
        assert apply_event(SEED, state, nothing).state is state


def test_custom_view_product_event_matches_the_field_sales_rule() -> None:
    result = apply_event(SEED, ScoreState(), event(type_="custom", name="view_product", props={"price": 10000}))
    assert [row.rule_id for row in result.ledger] == ["field-sales"]


# --- operations and caps ---------------------------------------------------------------------


def test_set_subtract_and_token_signs() -> None:
    scoring = grid(
        rule('{ name = "plus" }', '"+10"', rule_id="plus")
        + rule('{ name = "minus" }', '"-10"', rule_id="minus")
        + rule('{ name = "minus-token" }', '"-bonus"', rule_id="minus-token")
        + rule('{ name = "set" }', '"=10"', rule_id="set")
        + rule('{ name = "set-token" }', '"= bonus"', rule_id="set-token"),
        tokens="bonus = 4",
    )
    names = ["plus", "plus", "minus-token", "set", "minus", "set-token"]
    result = replay(scoring, [event(T0 + i, event_id=i, name=n) for i, n in enumerate(names)])
    assert [(row.rule_id, row.op, row.points, row.before, row.after) for row in result.ledger] == [
        ("plus", "add", 10.0, 0.0, 10.0),
        ("plus", "add", 10.0, 10.0, 20.0),
        ("minus-token", "add", -4.0, 20.0, 16.0),
        ("set", "set", -6.0, 16.0, 10.0),
        ("minus", "add", -10.0, 10.0, 0.0),
        ("set-token", "set", 4.0, 0.0, 4.0),
    ]
    assert sum(row.points for row in result.ledger) == result.state.values["e"]


def test_literal_points_and_tokens_compile_to_add_or_set() -> None:
    scoring = grid(
        rule("{ name = 'a' }", "2", rule_id="a")
        + rule("{ name = 'b' }", "-1.5", rule_id="b")
        + rule("{ name = 'c' }", '"t"', rule_id="c")
        + rule("{ name = 'd' }", '"=0"', rule_id="d"),
        tokens="t = 7",
    )
    assert [(r.op, r.points) for r in scoring.rules] == [
        ("add", 2.0),
        ("add", -1.5),
        ("add", 7.0),
        ("set", 0.0),
    ]
    assert scoring.tokens == {"t": 7.0}


@pytest.mark.parametrize(
    ("limit", "expected", "kept"),
    [
        ('"once"', Limit(1, None), 1),
        ('"always"', Limit(None, None), 0),
        ('"2"', Limit(2, None), 2),
        ("2", Limit(2, None), 2),
        ('"3/1d"', Limit(3, DAY), 3),
        ('"1/12h"', Limit(1, 12 * HOUR), 1),
    ],
)
def test_limits_compile_and_keep_only_the_hits_they_need(limit: str, expected: Limit, kept: int) -> None:
    scoring = grid(rule('{ name = "x" }', limit=limit))
    assert scoring.rules[0].limit == expected
    result = replay(scoring, [event(T0 + i * DAY, event_id=i, name="x") for i in range(10)])
    assert len(result.state.hits.get("r", [])) == kept


def test_limit_defaults_to_once() -> None:
    scoring = compile_scoring(
        tomllib.loads('[scores.e]\n[[rules]]\nid = "a"\nscore = "e"\npoints = 1\nwhen = {name = "x"}')
    )
    assert scoring.rules[0].limit == Limit(count=1, window=None)


@pytest.mark.parametrize(
    ("limit", "scored"),
    [
        ('"once"', [0]),
        ('"always"', [0, 1, 2, 3, 4, 5]),
        ('"2"', [0, 1]),
        # Events at 0h, 1h, 2h, 3h, 24h, 25h: the 4th is the 4th in a day; 24h frees the 0h slot.
        ('"3/1d"', [0, 1, 2, 4, 5]),
        ('"1/12h"', [0, 4]),
    ],
)
def test_limits_cap_how_often_a_rule_scores(limit: str, scored: list[int]) -> None:
    scoring = grid(rule('{ name = "x" }', limit=limit))
    times = [0, 1, 2, 3, 24, 25]
    result = replay(scoring, [event(T0 + h * HOUR, event_id=i, name="x") for i, h in enumerate(times)])
    assert [row.event_id for row in result.ledger] == scored


def test_several_rules_on_one_event_apply_in_programme_order_each_with_its_cap() -> None:
    scoring = grid(
        rule('{ type = "page" }', '"=5"', '"always"', rule_id="reset")
        + rule('{ url = "/x" }', "2", '"once"', rule_id="bonus")
        + rule('{ visit = ">= 2" }', "1", '"always"', rule_id="returning", score="f"),
        scores="[scores.e]\nmql = 6\n[scores.f]\n",
    )
    first = apply_event(scoring, ScoreState(), event(url="/x", visit=2))
    assert [(row.rule_id, row.score, row.after) for row in first.ledger] == [
        ("reset", "e", 5.0),
        ("bonus", "e", 7.0),
        ("returning", "f", 1.0),
    ]
    assert [(c.score, c.level) for c in first.crossings] == [("e", "mql")]
    second = apply_event(scoring, first.state, event(T0 + 1, event_id=2, url="/x", visit=1))
    assert [(row.rule_id, row.after) for row in second.ledger] == [("reset", 5.0)]
    assert second.crossings == []  # mql stays reached though the score fell back under it


def test_apply_event_leaves_the_input_state_untouched() -> None:
    state = replay(SEED, Journey().download("/demo/files/livre-blanc-a.pdf").events).state
    before = state.to_json()
    snapshot = ScoreState.from_json(before)
    result = apply_event(SEED, state, event(T0 + DAY, url=SITE + "/demo/blog/qualite/a"))
    assert result.state.values["engagement"] == 4.0
    assert state == snapshot


# --- decay -----------------------------------------------------------------------------------


def test_decay_is_read_lazily_and_materialised_when_the_score_changes() -> None:
    paper = event(T0, "download", url=SITE + "/demo/files/livre-blanc-c.pdf")
    state = apply_event(SEED, ScoreState(), paper).state
    assert current_scores(SEED, state, T0 + 30 * DAY - 1)["engagement"] == 12.0
    assert current_scores(SEED, state, T0 + 30 * DAY)["engagement"] == 6.0
    assert current_scores(SEED, state, T0 + 65 * DAY)["engagement"] == 3.0
    assert state.values["engagement"] == 12.0  # reading did not change the stored value
    assert state.reached["engagement"] == "sql"  # decay never un-reaches

    later = T0 + 65 * DAY
    result = apply_event(SEED, state, event(later, event_id=2, url=SITE + "/demo/blog/qualite/a"))
    assert result.ledger == [
        LedgerEntry("engagement", "decay", None, "decay", -9.0, 12.0, 3.0, later),
        LedgerEntry("engagement", "quality-blog", 2, "add", 2.0, 3.0, 5.0, later),
    ]
    assert result.crossings == []
    # The rule restarted the decay clock: no decay until 30 days after it.
    assert current_scores(SEED, result.state, later + 30 * DAY - 1)["engagement"] == 5.0
    assert current_scores(SEED, result.state, later + 30 * DAY)["engagement"] == 2.5


def test_decay_is_not_materialised_by_events_that_do_not_score_that_score() -> None:
    state = apply_event(SEED, ScoreState(), event(T0, "download", url="/demo/files/livre-blanc-b.pdf")).state
    later = apply_event(SEED, state, event(T0 + 40 * DAY, event_id=2, url="/demo/produits/medical/m2"))
    assert [row.rule_id for row in later.ledger] == ["interest-medical"]
    assert later.state.values["engagement"] == 5.0
    assert current_scores(SEED, later.state, T0 + 40 * DAY)["engagement"] == 2.5


def test_a_score_without_decay_never_decays_and_current_scores_lists_every_score() -> None:
    state = apply_event(SEED, ScoreState(), event(T0, url="/demo/produits/medical/m2")).state
    assert current_scores(SEED, state, T0 + 3650 * DAY) == {
        "engagement": 0.0,
        "fit": 0.0,
        "general": 0.0,
        "medical": 3.0,
    }


def test_negative_scores_decay_towards_zero_and_values_round_to_two_decimals() -> None:
    scoring = grid(
        rule('{ name = "x" }', "-0.3"),
        scores='[scores.e]\ndecay = { after = "1w", percent = 10 }\n',
    )
    state = replay(scoring, [event(T0 + i, event_id=i, name="x") for i in range(3)]).state
    assert state.values["e"] == -0.9
    assert current_scores(scoring, state, T0 + 2 + 2 * 7 * DAY)["e"] == -0.73


def test_a_late_event_neither_rewinds_the_decay_clock_nor_inflates_the_score() -> None:
    scoring = grid(rule('{ name = "x" }', "8", '"2/1d"'), scores='[scores.e]\ndecay = { after = "1d", percent = 50 }\n')
    state = apply_event(scoring, ScoreState(), event(T0 + 10 * DAY, name="x")).state
    late = apply_event(scoring, state, event(T0, event_id=2, name="x")).state
    assert late.last == {"e": T0 + 10 * DAY}
    assert late.hits == {"r": [T0, T0 + 10 * DAY]}
    assert current_scores(scoring, late, T0) == {"e": 16.0}
    assert current_scores(scoring, late, T0 + 11 * DAY) == {"e": 8.0}


def test_crossings_with_only_a_sales_threshold_and_a_late_mql() -> None:
    scoring = grid(
        rule('{ name = "big" }', "10", rule_id="big", score="a")
        + rule('{ name = "small" }', "5", rule_id="small", score="b"),
        scores="[scores.a]\nsql = 10\n[scores.b]\nmql = 5\nsql = 9\n",
    )
    result = replay(scoring, [event(T0, name="big"), event(T0 + 1, event_id=2, name="small")])
    assert [(c.score, c.level) for c in result.crossings] == [("a", "sql"), ("b", "mql")]
    assert threshold_level(result.state) == "sql"
    again = apply_event(scoring, result.state, event(T0 + 2, event_id=3, name="small"))
    assert again.crossings == [Crossing("b", "sql", 3, T0 + 2)]
    assert again.state.reached == {"a": "sql", "b": "sql"}


def test_threshold_level_is_the_highest_over_all_scores() -> None:
    assert threshold_level(ScoreState()) is None
    assert threshold_level(ScoreState(reached={"fit": "mql"})) == "mql"
    assert threshold_level(ScoreState(reached={"fit": "mql", "engagement": "sql"})) == "sql"


# --- event conditions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "hit", "miss"),
    [
        (
            '{ type = "webinar_signup" }',
            event(type_="custom", name="webinar_signup"),
            event(name="webinar_signup"),
        ),
        ('{ type = "custom" }', event(type_="custom", name="anything"), event(type_="click")),
        ('{ type = ["click", "outbound"] }', event(type_="outbound"), event(type_="page")),
        ('{ name = "cta-*" }', event(type_="click", name="CTA-hero"), event(type_="click", name="menu")),
        ('{ url_regex = "utm_source=salon" }', event(url="/a?utm_source=salon"), event(url="/a")),
        ('{ url = "~/produits/(general|medical)/" }', event(url="/demo/produits/medical/m"), event(url="/")),
        ('{ referrer = "*google.*" }', event(referrer="https://www.google.fr/"), event(referrer="")),
        (
            '{ engaged = ">= 30" }',
            event(type_="engaged", props={"seconds": 45}),
            event(props={"seconds": 45}),
        ),
        ('{ visit = ">= 3" }', event(visit=3), event(visit=2)),
        ('{ props = { plan = "!= pro" } }', event(props={}), event(props={"plan": "PRO"})),
        ('{ props = { plan = ["pro", "!= free"] } }', event(props={}), event(props={"plan": "free"})),
        ('{ props = { line = "medical" } }', event(props={"line": "Medical"}), event(props={})),
        (
            '{ form = "demo", fields = { email = "*@*" } }',
            event(type_="form", name="demo", props={"email": "a@b"}),
            event(type_="form", name="demo", props={}),
        ),
        (
            '{ type = "form", form = "demo" }',
            event(type_="form", name="demo"),
            event(type_="click", name="demo"),
        ),
    ],
)
def test_when_conditions(when: str, hit: Event, miss: Event) -> None:
    matches = grid(rule(when)).rules[0].matches
    assert matches(hit)
    assert not matches(miss)


# --- programme errors -----------------------------------------------------------------------------

RULE_A = '[scores.e]\n[[rules]]\nid = "a"\nscore = "e"\n'


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("tokens = 3", "tokens"),
        ('[tokens]\nx = "abc"', "tokens.x"),
        ("[tokens]\nx = true", "tokens.x"),
        ("[tokens]\nx = inf", "tokens.x"),
        ("scores = 1", "scores"),
        ("[scores]\ne = 3", "scores.e"),
        ('[scores.e]\nmql = "high"', "scores.e.mql"),
        ("[scores.e]\nsql = nan", "scores.e.sql"),
        ("[scores.e]\nmql = 12\nsql = 8", "scores.e.sql"),
        ("[scores.e]\ncolour = 1", "scores.e.colour"),
        ("[scores.e]\ndecay = 30", "scores.e.decay"),
        ('[scores.e]\ndecay = { after = "30x", percent = 50 }', "scores.e.decay.after"),
        ('[scores.e]\ndecay = { after = "0d", percent = 50 }', "scores.e.decay.after"),
        ('[scores.e]\ndecay = { after = "30d", percent = 0 }', "scores.e.decay.percent"),
        ('[scores.e]\ndecay = { after = "30d", percent = 150 }', "scores.e.decay.percent"),
        ('[scores.e]\ndecay = { after = "30d" }', "scores.e.decay.percent"),
        ('[scores.e]\ndecay = { after = "30d", percent = 5, every = "1d" }', "scores.e.decay.every"),
        ("rules = 3", "rules"),
        ("rules = [1]", "rules[0]"),
        ('[[rules]]\nscore = "e"', "rules[0]"),
        (RULE_A + 'points = 1\nwhen = { name = "x" }\n[[rules]]\nid = ""', "rules[1]"),
        (RULE_A + 'points = 1\nwhen = { name = "x" }\n[[rules]]\nid = "a"\nwhen = {}', "rules[a].id"),
        ('[scores.e]\n[[rules]]\nid = "decay"\nscore = "e"', "rules[decay].id"),
        (RULE_A + 'points = 1\nwhen = { name = "x" }\nweight = 2', "rules[a].weight"),
        ('[scores.e]\n[[rules]]\nid = "a"\npoints = 1\nwhen = { name = "x" }', "rules[a].score"),
        (
            '[scores.e]\n[[rules]]\nid = "a"\nscore = "fit"\npoints = 1\nwhen = { name = "x" }',
            "rules[a].score",
        ),
        (RULE_A + 'when = { name = "x" }', "rules[a].points"),
        (RULE_A + "points = 1", "rules[a].when"),
        (RULE_A + 'points = "wp_d"\nwhen = { name = "x" }', "rules[a].points"),
        (RULE_A + 'points = "=wp_d"\nwhen = { name = "x" }', "rules[a].points"),
        (RULE_A + 'points = true\nwhen = { name = "x" }', "rules[a].points"),
        (RULE_A + 'points = "1 2"\nwhen = { name = "x" }', "rules[a].points"),
        (RULE_A + 'points = "=inf"\nwhen = { name = "x" }', "rules[a].points"),
        (RULE_A + 'points = 1\nlimit = "twice"\nwhen = { name = "x" }', "rules[a].limit"),
        (RULE_A + 'points = 1\nlimit = "0"\nwhen = { name = "x" }', "rules[a].limit"),
        (RULE_A + "points = 1\nlimit = 5000\nwhen = { name = 'x' }", "rules[a].limit"),
        (RULE_A + 'points = 1\nlimit = "3/1y"\nwhen = { name = "x" }', "rules[a].limit"),
        (RULE_A + 'points = 1\nlimit = "3/"\nwhen = { name = "x" }', "rules[a].limit"),
        (RULE_A + "points = 1\nwhen = {}", "rules[a].when"),
        (RULE_A + 'points = 1\nwhen = "page"', "rules[a].when"),
        (RULE_A + 'points = 1\nwhen = { colour = "red" }', "rules[a].when.colour"),
        (RULE_A + "points = 1\nwhen = { type = 3 }", "rules[a].when.type"),
        (RULE_A + "points = 1\nwhen = { type = [] }", "rules[a].when.type"),
        (RULE_A + 'points = 1\nwhen = { type = "download", form = "demo" }', "rules[a].when.type"),
        (RULE_A + 'points = 1\nwhen = { engaged = ">= 3", fields = { a = 1 } }', "rules[a].when"),
        (RULE_A + "points = 1\nwhen = { url = [] }", "rules[a].when.url"),
        (RULE_A + 'points = 1\nwhen = { url_regex = "(" }', "rules[a].when.url_regex"),
        (RULE_A + "points = 1\nwhen = { url_regex = 3 }", "rules[a].when.url_regex"),
        (RULE_A + "points = 1\nwhen = { name = {} }", "rules[a].when.name"),
        (RULE_A + "points = 1\nwhen = { props = {} }", "rules[a].when.props"),
        (RULE_A + "points = 1\nwhen = { props = 3 }", "rules[a].when.props"),
        (RULE_A + 'points = 1\nwhen = { props = { price = "~(" } }', "rules[a].when.props.price"),
        (RULE_A + "points = 1\nwhen = { fields = { job_title = [] } }", "rules[a].when.fields.job_title"),
    ],
)
def test_grid_errors_name_the_place(source: str, where: str) -> None:
    with pytest.raises(ProgrammeError) as info:
        compile_scoring(tomllib.loads(source))
    assert info.value.where == where


def test_grid_errors_explain_the_problem() -> None:
    with pytest.raises(ProgrammeError, match=r"rules\[a\]\.points: unknown token 'wp_d'"):
        compile_scoring(tomllib.loads(RULE_A + 'points = "wp_d"\nwhen = { name = "x" }'))
    with pytest.raises(ProgrammeError, match=r"unknown score 'fit' \(declared: e\)"):
        compile_scoring(tomllib.loads('[scores.e]\n[[rules]]\nid = "a"\nscore = "fit"\npoints = 1\nwhen = {a=1}'))


def test_other_top_level_keys_are_left_to_others() -> None:
    scoring = compile_scoring({"campaigns": [{"id": "x"}], "sites": 3})
    assert (dict(scoring.tokens), dict(scoring.scores), scoring.rules) == ({}, {}, ())


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45s", 45.0),
        ("90m", 5400.0),
        ("12h", 43200.0),
        ("30d", 2592000.0),
        ("2w", 1209600.0),
        (" 1.5h ", 5400.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text, "here") == seconds


@pytest.mark.parametrize("text", ["30", "d", "30y", "-1d", "0s", "30 days", "", 30])
def test_parse_duration_rejects(text: Any) -> None:
    with pytest.raises(ProgrammeError) as info:
        parse_duration(text, "campaigns[x].cap")
    assert info.value.where == "campaigns[x].cap"


# --- replay properties -----------------------------------------------------------------------

TEMPLATES: list[Mapping[str, Any]] = [
    {"type": "page", "url": SITE + "/demo/"},
    {"type": "download", "url": SITE + "/demo/files/livre-blanc-a.pdf"},
    {"type": "download", "url": SITE + "/demo/files/livre-blanc-b.pdf"},
    {"type": "download", "url": SITE + "/demo/files/livre-blanc-c.pdf"},
    {"type": "page", "url": SITE + "/demo/blog/qualite/precision"},
    {"type": "page", "url": SITE + "/demo/emplois"},
    {"type": "page", "url": SITE + "/demo/tarifs"},
    {"type": "form", "name": "demo", "props": {"job_title": "acheteur"}},
    {"type": "form", "name": "demo", "props": {"job_title": "stagiaire"}},
    {"type": "page", "url": SITE + "/demo/produits/general/p400", "props": {"price": 12000}},
    {"type": "page", "url": SITE + "/demo/produits/medical/m2"},
]

histories = st.lists(
    st.tuples(st.integers(0, len(TEMPLATES) - 1), st.integers(0, 120 * 24)),  # hours over 120 days
    max_size=40,
).map(lambda picks: [Event(id=i, ts=T0 + hour * HOUR, **TEMPLATES[t]) for i, (t, hour) in enumerate(picks)])


# The seed grid with engagement capped at 20, reset on lost and raised on won.
RESET = compile_scoring(
    tomllib.loads(SEED_GRID.replace("mql = 8\n", 'mql = 8\nmax = 20\non_outcome = { lost = "=0", won = "+5" }\n', 1))
)
with_outcomes = st.lists(
    st.tuples(st.integers(0, len(TEMPLATES) + 1), st.integers(0, 120 * 24)),
    max_size=40,
).map(
    lambda picks: [
        Event(id=i, ts=T0 + hour * HOUR, **TEMPLATES[t])
        if t < len(TEMPLATES)
        else outcome(("lost", "won")[t - len(TEMPLATES)], T0 + hour * HOUR, i)
        for i, (t, hour) in enumerate(picks)
    ]
)


@settings(max_examples=100, deadline=None)
@given(with_outcomes, st.randoms())
def test_caps_and_outcome_resets_replay_as_they_applied_live(events: list[Event], rnd: Any) -> None:
    replayed = replay(RESET, events)
    shuffled = list(events)
    rnd.shuffle(shuffled)
    for other in (replay(RESET, shuffled), fold(RESET, events)):
        assert other.state.to_json() == replayed.state.to_json()
        assert other.ledger == replayed.ledger and other.crossings == replayed.crossings
    assert replayed.state.values.get("engagement", 0.0) <= 20
    value = replayed.state.values.get("engagement")
    if value is not None:
        assert sum(row.points for row in replayed.ledger if row.score == "engagement") == pytest.approx(value)


@settings(max_examples=150, deadline=None)
@given(histories, st.randoms())
def test_applying_events_one_by_one_equals_replaying_them(events: list[Event], rnd: Any) -> None:
    replayed = replay(SEED, events)
    shuffled = list(events)
    rnd.shuffle(shuffled)
    again = replay(SEED, shuffled)
    stepped = fold(SEED, events)
    for other in (again, stepped):
        assert other.state.to_json() == replayed.state.to_json()
        assert other.ledger == replayed.ledger
        assert other.crossings == replayed.crossings
    for name, value in replayed.state.values.items():
        assert sum(row.points for row in replayed.ledger if row.score == name) == pytest.approx(value)
    assert all(len(replayed.state.hits.get(r.id, [])) <= (r.limit.count or 0) for r in SEED.rules)


_PATHS = ["/", "/blog/qualite/a", "/produits/medical/x", "/produits/general/y", "/tarifs", "/offres/stage", "/x?y=1"]


@settings(max_examples=300, deadline=None)
@given(
    type_=st.sampled_from(["page", "download", "form", "click", "engaged", "custom"]),
    path=st.sampled_from(_PATHS),
    name=st.sampled_from(["", "demo", "newsletter", "Order Completed"]),
    seconds=st.integers(0, 600),
)
def test_offered_rules_are_exactly_the_matching_ones(type_: str, path: str, name: str, seconds: int) -> None:
    """``Scoring.offered`` (per page, cached) plus ``matches_rest`` gives exactly what ``matches`` gives."""
    hit = event(type_=type_, url=SITE + path, name=name, props={"seconds": seconds, "email": "a@b.example"})
    expected = [r.id for r in SEED.candidates(type_) if r.matches(hit)]
    for _ in range(2):  # computed, then from the cache
        offered = [r.id for r in SEED.offered(hit) if r.matches_rest is None or r.matches_rest(hit)]
        assert offered == expected


def test_offered_pages_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tracker.domain.scoring.MAX_OFFERS", 3)
    scoring = grid(rule('{ url = "/a/*" }'))
    for n in range(10):
        assert [r.id for r in scoring.offered(event(url=f"{SITE}/a/{n}"))] == ["r"]
        assert len(scoring._offers) <= 3


EMAIL_GRID = """
[scores.engagement]
[[rules]]
id = "newsletter"
score = "engagement"
when = { type = "email_click", name = "newsletter-nov" }
points = 5
limit = "always"
"""


def test_email_events_score_unless_a_scanner_or_a_proxy_caused_them() -> None:
    scoring = compile_scoring(tomllib.loads(EMAIL_GRID))
    assert [rule.id for rule in scoring.candidates("email_click")] == ["newsletter"]
    clicks = [
        Event(1, "email_click", 10.0, name="newsletter-nov"),
        Event(2, "email_click", 20.0, name="newsletter-nov", props={"flagged": "scanner"}),
        Event(3, "email_click", 30.0, name="other"),
        Event(4, "custom", 40.0, name="email_click"),  # a custom event of that name is no e-mail click
    ]
    assert replay(scoring, clicks).state.values == {"engagement": 5.0}
    scored_anyway = load_programme(EMAIL_GRID + "\n[email]\nscore_flagged = true\n").scoring
    assert replay(scored_anyway, clicks).state.values == {"engagement": 10.0}
    # Only e-mail events are ever skipped for a flag: a page's own props say nothing of scanners.
    page_grid = EMAIL_GRID.replace('type = "email_click", name = "newsletter-nov"', 'type = "page"')
    page = Event(5, "page", 50.0, props={"flagged": "yes"})
    assert replay(compile_scoring(tomllib.loads(page_grid)), [page]).state.values == {"engagement": 5.0}


@pytest.mark.parametrize(
    ("section", "where"),
    [
        ("email = 1", "email"),
        ("[email]\nscore = true", "email.score"),
        ("[email]\nscore_flagged = 1", "email.score_flagged"),
    ],
)
def test_the_email_section_names_its_bad_key(section: str, where: str) -> None:
    with pytest.raises(ProgrammeError) as raised:
        load_programme(section + "\n" + EMAIL_GRID)
    assert raised.value.where == where


_NAMES = st.sampled_from(["engagement", "fit", "medical"])
_TIMES = st.floats(0, 4e9).map(lambda t: round(t, 3))


@given(
    values=st.dictionaries(_NAMES, st.floats(-1e6, 1e6).map(lambda v: round(v, 2)) | st.just(1e300)),
    last=st.dictionaries(_NAMES, _TIMES),
    hits=st.dictionaries(st.sampled_from(["wp-a", "pricing"]), st.lists(_TIMES, max_size=3)),
    reached=st.dictionaries(_NAMES, st.sampled_from(["mql", "sql"])),
)
def test_a_score_state_reads_back_as_stored_in_its_short_form(
    values: dict[str, float], last: dict[str, float], hits: dict[str, list[float]], reached: dict[str, str]
) -> None:
    state = ScoreState(values, last, hits, reached)
    stored = orjson.dumps(state.to_json())
    assert ScoreState.from_json(orjson.loads(stored)) == state
    assert b'"values"' not in stored


def test_a_score_state_stored_before_the_short_form_still_reads() -> None:
    old = {"values": {"fit": 5.0}, "last": {"fit": 10.5}, "hits": {"wp-a": [10.5]}, "reached": {"fit": "mql"}}
    assert ScoreState.from_json(old) == ScoreState({"fit": 5.0}, {"fit": 10.5}, {"wp-a": [10.5]}, {"fit": "mql"})
    assert ScoreState.from_json(old).to_json() == {
        "t": 10.5,
        "s": {"fit": [5, 0]},
        "h": {"wp-a": [0]},
        "r": {"fit": "mql"},
    }


def test_a_score_state_counts_its_times_from_the_earliest() -> None:
    state = ScoreState(
        {"fit": 5.0, "general": 2.5}, {"fit": 1_796_479_205.121}, {"wp-a": [1_796_479_205.121, 1_796_565_605.5]}
    )
    assert state.to_json() == {
        "t": 1_796_479_205.121,
        "s": {"fit": [5, 0], "general": [2.5, None]},
        "h": {"wp-a": [0, 86400.379]},
    }
    assert ScoreState({"fit": 5.0}).to_json() == {"s": {"fit": [5, None]}}


def test_a_score_state_stored_with_absolute_times_still_reads() -> None:
    # The short form as first stored, before times were counted from "t".
    first = {"s": {"fit": [5, 1_796_479_205.121]}, "h": {"wp-a": [1_796_479_205.121]}}
    assert ScoreState.from_json(first) == ScoreState(
        {"fit": 5.0}, {"fit": 1_796_479_205.121}, {"wp-a": [1_796_479_205.121]}
    )
