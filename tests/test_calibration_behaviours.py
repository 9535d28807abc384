"""Behaviours before conversion (tracker.domain.calibration.behaviours): planted effects come out as
lifts with intervals that hold them, and points out of line with the lift are flagged."""

from __future__ import annotations

import random

from tracker.domain.calibration.behaviours import (
    action_windows,
    behaviours,
    done_within,
    download_path,
    page_pattern,
)
from tracker.domain.calibration.history import ActionRow, Lead, LedgerRow, PersonRow
from tracker.domain.scoring import compile_scoring

DAY = 86400.0
WINDOW = 30 * DAY
END = 100 * DAY
SCORING = compile_scoring(
    {
        "scores": {"engagement": {"sql": 12}},
        "rules": [
            {
                "id": "datasheet",
                "score": "engagement",
                "when": {"type": "download", "url": "*/datasheet*"},
                "points": 2,
            },
            {"id": "contact", "score": "engagement", "when": {"type": "custom", "name": "contact"}, "points": 2},
            {"id": "webinar", "score": "engagement", "when": {"type": "page", "url": "/webinar/*"}, "points": 0.5},
            {"id": "pricing", "score": "engagement", "when": {"type": "page", "url": "/pricing/*"}, "points": 10},
        ],
    }
)
# Each planted behaviour triples the odds of converting; pricing changes nothing.
TRIPLES = ("datasheet", "contact", "webinar")
URLS = {
    "datasheet": ("download", "https://x.fr/files/datasheet.pdf"),
    "webinar": ("page", "https://x.fr/webinar/live?x=1"),
    "pricing": ("page", "https://x.fr/pricing/pro"),
}


def planted(seed: int, people: int = 4000) -> tuple[list[Lead], list[LedgerRow], list[ActionRow]]:
    rng = random.Random(seed)
    leads: list[Lead] = []
    ledger: list[LedgerRow] = []
    actions: list[ActionRow] = []
    for person in range(1, people + 1):
        did = {name for name in (*TRIPLES, "pricing") if rng.random() < 0.3}
        chance = 0.03 * 3 ** len(did & set(TRIPLES))
        converted = rng.random() < chance
        reference = rng.uniform(10 * DAY, END) if converted else END
        leads.append(Lead(person, reference, converted, {}, "known", None, None))
        for name in sorted(did):
            ts = reference - rng.uniform(0, WINDOW)
            ledger.append(LedgerRow(person, "engagement", name, ts, 0.0))
            if name in URLS:
                actions.append(ActionRow(person, ts, *URLS[name]))
        if "datasheet" not in did:  # long before the window: it does not count
            actions.append(ActionRow(person, reference - 2 * WINDOW, *URLS["datasheet"]))
    return leads, ledger, actions


def test_a_behaviour_planted_to_triple_conversion_shows_a_lift_of_three() -> None:
    leads, ledger, actions = planted(7)
    found = {
        (b.kind, b.key): b
        for b in behaviours(leads, done_within(leads, ledger, actions, WINDOW), SCORING, "engagement")
    }
    for key in [
        ("rule", "datasheet"),
        ("download", "/files/datasheet.pdf"),
        ("rule", "contact"),
        ("page", "/webinar/*"),
    ]:
        lift = found[key].lift
        assert lift is not None and lift.contains(3) and 2.3 < lift.estimate < 3.9, key
    pricing = found[("rule", "pricing")]
    assert pricing.lift is not None and pricing.lift.contains(1)
    assert 0.25 < pricing.converters_share < 0.35 and 0.25 < pricing.others_share < 0.35


def test_points_out_of_line_with_the_lift_are_flagged() -> None:
    leads, ledger, actions = planted(7)
    found = {
        (b.kind, b.key): b
        for b in behaviours(leads, done_within(leads, ledger, actions, WINDOW), SCORING, "engagement")
    }
    assert found[("rule", "pricing")].flag == "too_high"  # 10 points for nothing
    assert found[("page", "/pricing/*")].points == 10 and found[("page", "/pricing/*")].flag == "too_high"
    assert found[("rule", "webinar")].flag == "too_low"  # half a point for a tripling
    assert found[("rule", "datasheet")].flag is None and found[("rule", "contact")].flag is None
    suggested = found[("rule", "webinar")].suggested
    assert suggested is not None and 1.5 < suggested < 2.5


def test_without_a_rewarded_lifting_behaviour_only_the_sign_is_judged() -> None:
    scoring = compile_scoring(
        {
            "scores": {"engagement": {}},
            "rules": [
                {"id": "pricing", "score": "engagement", "when": {"type": "page"}, "points": 10},
                {"id": "jobs", "score": "engagement", "when": {"type": "page"}, "points": -5},
            ],
        }
    )
    leads = [Lead(n, END, n < 10, {}, "known", None, None) for n in range(40)]
    # Only non-converters read the prices; every converter and five others read the jobs page.
    ledger = [LedgerRow(n, "engagement", "pricing", END, 0.0) for n in range(10, 40)]
    ledger += [LedgerRow(n, "engagement", "jobs", END, 0.0) for n in range(15)]
    found = {b.key: b for b in behaviours(leads, done_within(leads, ledger, [], WINDOW), scoring, "engagement")}
    assert found["pricing"].flag == "too_high" and found["pricing"].suggested is None
    assert found["jobs"].flag == "too_low"


def test_patterns_and_paths() -> None:
    assert page_pattern("https://x.fr/blog/qualite/post-1?a=b") == "/blog/qualite/*"
    assert page_pattern("https://x.fr") == "/*"
    assert download_path("https://x.fr/files/a.pdf?v=2") == "/files/a.pdf"


def test_a_converters_window_holds_its_conversion_and_the_others_stop_before_the_end() -> None:
    people = [PersonRow(1, 0.0, 40 * DAY), PersonRow(2, 0.0, None), PersonRow(3, 0.0, 5 * DAY)]
    (converter, since, until), other = action_windows(people, 10 * DAY, END, WINDOW)  # 3 converted before
    assert (converter, since) == (1, 10 * DAY) and since < 40 * DAY < until < 40 * DAY + 1e-6
    assert other == (2, END - WINDOW, END)


def test_the_sample_of_a_pattern_is_its_most_done_url_whatever_the_order_of_the_rows() -> None:
    leads = [Lead(n, END, n == 1, {}, "known", None, None) for n in (1, 2)]
    seen = END - DAY
    actions = [
        ActionRow(1, seen, "page", "https://x.fr/blog/b", 2),
        ActionRow(2, seen, "page", "https://x.fr/blog/a"),
        ActionRow(2, seen, "page", "https://x.fr/blog/c", 3),
        ActionRow(1, seen, "page", "https://x.fr/blog/a"),
    ]
    for rows in (actions, actions[::-1]):
        done = done_within(leads, [], rows, WINDOW)
        assert done.people[("page", "/blog/*")] == {1, 2}
        assert done.samples[("page", "/blog/*")] == "https://x.fr/blog/c"  # 3 times: more than a's 2 and b's 2
    tie = done_within(leads, [], actions[:2] + actions[3:], WINDOW)
    assert tie.samples[("page", "/blog/*")] == "https://x.fr/blog/a"  # a and b twice each: the first by its text
