from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.domain.decisions import (
    MAX_SESSIONS,
    Campaign,
    compile_campaigns,
    decide,
    record_feedback,
    record_held_out,
)
from tracker.domain.facts import CampaignMemory, Event, VisitContext
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.targeting import PersonView

SCORES = ("engagement", "fit", "general", "medical")
DAY = 86400.0
NOW = 1_700_000_000.0
SESSION = "v1:3"
# Times as stored: to the millisecond, or absent.
_TIMES = st.none() | st.floats(0, 4e9).map(lambda t: round(t, 3))
SEED_GRID = Path(__file__).resolve().parent.parent / "examples" / "seed-programme.toml"


def compile_one(**raw: Any) -> Campaign:
    (campaign,) = compile_campaigns([{"id": "c", "kind": "popup", "title": "Bonjour", **raw}], SCORES)
    return campaign


def person(
    stage: str = "anonymous",
    memory: Mapping[str, CampaignMemory] | None = None,
    **scores: float,
) -> PersonView:
    return PersonView(stage=stage, scores=scores, campaigns=memory or {})


def ctx(**fields: Any) -> VisitContext:
    return VisitContext(**{"url": "https://imprimantes.example/demo/", "session": SESSION, **fields})


def shown(
    campaigns: tuple[Campaign, ...] | Campaign, who: PersonView, where: VisitContext, now: float = NOW
) -> list[str]:
    listed = campaigns if isinstance(campaigns, tuple) else (campaigns,)
    return [decision.campaign for decision in decide(listed, who, where, now)]


def grid_error(raw: list[Any] | Any) -> ProgrammeError:
    with pytest.raises(ProgrammeError) as info:
        compile_campaigns(raw, SCORES)
    return info.value


# ---------------------------------------------------------------------------
# Targeting: each key of [campaigns.when]


@pytest.mark.parametrize(
    ("when", "matching", "other"),
    [
        (
            {"scores": {"engagement": ">= 12"}},
            (person(engagement=12), ctx()),
            (person(engagement=11.9), ctx()),
        ),
        ({"scores": {"medical": "<= 3"}}, (person(), ctx()), (person(medical=4), ctx())),
        (
            {"scores": {"engagement": ">= 12", "medical": "<= 3"}},
            (person(engagement=13, medical=1), ctx()),
            (person(engagement=13, medical=5), ctx()),
        ),
        ({"stage": ["mql", "sql"]}, (person("mql"), ctx()), (person("known"), ctx())),
        ({"stage": "sql"}, (person("sql"), ctx()), (person("mql"), ctx())),
        (
            {"url": "/demo/*"},
            (person(), ctx(url="https://x.fr/demo/tarifs?a=1")),
            (person(), ctx(url="/blog/")),
        ),
        (
            {"url": "~/tarifs$"},
            (person(), ctx(url="https://x.fr/demo/tarifs")),
            (person(), ctx(url="/demo/")),
        ),
        (
            {"referrer": "*google*"},
            (person(), ctx(referrer="https://www.google.fr/search")),
            (person(), ctx(referrer="https://bing.com/")),
        ),
        (
            {"utm": {"source": "newsletter", "campaign": "~spring"}},
            (person(), ctx(utm={"source": "Newsletter", "campaign": "spring-2024"})),
            (person(), ctx(utm={"source": "newsletter"})),
        ),
        (
            {"device": ["desktop", "tablet"]},
            (person(), ctx(device="tablet")),
            (person(), ctx(device="mobile")),
        ),
        ({"returning": True}, (person(), ctx(visits=2)), (person(), ctx(visits=1))),
        ({"returning": False}, (person(), ctx(visits=1)), (person(), ctx(visits=4))),
        ({"visits": ">= 3"}, (person(), ctx(visits=3)), (person(), ctx(visits=2))),
        ({"visits": 1}, (person(), ctx(visits=1)), (person(), ctx(visits=2))),
        (
            {"condition": "stage_rank >= 2 and returning and visits < 5 and stage != 'sql'"},
            (person("mql"), ctx(visits=2)),
            (person("sql"), ctx(visits=2)),
        ),
        (
            {"url": "/demo/*", "scores": {"engagement": ">= 12"}},
            (person(engagement=12), ctx()),
            (person(engagement=12), ctx(url="/ailleurs/")),
        ),
    ],
)
def test_targeting(
    when: dict[str, Any], matching: tuple[PersonView, VisitContext], other: tuple[PersonView, VisitContext]
) -> None:
    campaign = compile_one(when=when)
    assert shown(campaign, *matching) == ["c"]
    assert shown(campaign, *other) == []


def test_no_targeting_shows_to_everyone() -> None:
    assert shown(compile_one(), person(), ctx()) == ["c"]


# ---------------------------------------------------------------------------
# One decision per placement, highest priority first


def test_highest_priority_wins_a_placement() -> None:
    campaigns = compile_campaigns(
        [
            {"id": "low", "kind": "popup", "title": "a", "priority": 1},
            {"id": "high", "kind": "popup", "title": "b", "priority": 5},
            {"id": "mid", "kind": "popup", "title": "c", "priority": 3},
        ],
        SCORES,
    )
    assert shown(campaigns, person(), ctx()) == ["high"]


def test_priority_ties_go_to_programme_order() -> None:
    campaigns = compile_campaigns(
        [
            {"id": "first", "kind": "banner", "text": "a", "priority": 2},
            {"id": "second", "kind": "banner", "text": "b", "priority": 2},
        ],
        SCORES,
    )
    assert shown(campaigns, person(), ctx()) == ["first"]
    assert shown(campaigns[::-1], person(), ctx()) == ["second"]


def test_a_lower_campaign_fills_in_when_the_higher_does_not_apply() -> None:
    campaigns = compile_campaigns(
        [
            {
                "id": "hot",
                "kind": "popup",
                "title": "a",
                "priority": 9,
                "when": {"scores": {"engagement": ">= 12"}},
            },
            {"id": "warm", "kind": "popup", "title": "b", "priority": 1},
        ],
        SCORES,
    )
    assert shown(campaigns, person(engagement=12), ctx()) == ["hot"]
    assert shown(campaigns, person(engagement=3), ctx()) == ["warm"]
    closed = {"hot": CampaignMemory(closed=NOW - DAY)}
    assert shown(campaigns, person(memory=closed, engagement=12), ctx()) == ["warm"]


def test_each_placement_decides_separately_and_results_sort_by_priority() -> None:
    campaigns = compile_campaigns(
        [
            {"id": "banner", "kind": "banner", "text": "a", "priority": 1},
            {"id": "hero-1", "kind": "content", "slot": "hero", "text": "b", "priority": 4},
            {"id": "hero-2", "kind": "content", "slot": "hero", "text": "c", "priority": 6},
            {"id": "offer", "kind": "content", "slot": "offer", "text": "d", "priority": 4},
            {"id": "chat", "kind": "chat", "opener": "Bonjour ?", "priority": 5},
            {"id": "popup", "kind": "popup", "title": "e", "priority": 1},
        ],
        SCORES,
    )
    decisions = decide(campaigns, person(), ctx(), NOW)
    assert [(d.campaign, d.priority) for d in decisions] == [
        ("hero-2", 6),
        ("chat", 5),
        ("offer", 4),
        ("banner", 1),
        ("popup", 1),
    ]
    assert {c.id: c.placement for c in campaigns}["offer"] == "slot:offer"


# ---------------------------------------------------------------------------
# Triggers


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, {"on": "immediate"}),
        ("immediate", {"on": "immediate"}),
        ("exit", {"on": "exit"}),
        ({"delay": 5}, {"on": "delay", "seconds": 5}),
        ({"delay": 2.5}, {"on": "delay", "seconds": 2.5}),
        ({"scroll": 50}, {"on": "scroll", "percent": 50}),
    ],
)
def test_triggers(spec: Any, expected: dict[str, Any]) -> None:
    campaign = compile_one() if spec is None else compile_one(trigger=spec)
    (decision,) = decide((campaign,), person(), ctx(), NOW)
    assert dict(decision.trigger) == expected
    assert decision.to_json()["trigger"] == expected


# ---------------------------------------------------------------------------
# Frequency, close and conversion memory (time injected)


def memory(**fields: Any) -> dict[str, CampaignMemory]:
    return {"c": CampaignMemory(**fields)}


def test_always_ignores_impressions() -> None:
    campaign = compile_one(frequency="always")
    seen = memory(impressions=40, last_impression=NOW - 1, sessions=[SESSION])
    assert shown(campaign, person(memory=seen), ctx()) == ["c"]


def test_session_is_the_default_and_caps_per_visit() -> None:
    campaign = compile_one()
    assert campaign.frequency == "session"
    seen = memory(impressions=1, last_impression=NOW - 1, sessions=["v1:2", SESSION])
    assert shown(campaign, person(memory=seen), ctx()) == []
    assert shown(campaign, person(memory=seen), ctx(session="v1:4")) == ["c"]


def test_once_ever() -> None:
    campaign = compile_one(frequency="once")
    assert shown(campaign, person(memory=memory()), ctx()) == ["c"]
    seen = memory(impressions=1, last_impression=NOW - 365 * DAY, sessions=["old:1"])
    assert shown(campaign, person(memory=seen), ctx(session="new:1"), NOW) == []


def test_at_most_once_per_duration() -> None:
    campaign = compile_one(frequency="7d")
    seen = person(memory=memory(impressions=1, last_impression=NOW, sessions=[SESSION]))
    assert shown(campaign, seen, ctx(), NOW + 7 * DAY - 1) == []
    assert shown(campaign, seen, ctx(), NOW + 7 * DAY) == ["c"]


def test_close_suppresses_for_30_days_by_default() -> None:
    campaign = compile_one(frequency="always")
    closed = person(memory=memory(closed=NOW))
    assert shown(campaign, closed, ctx(), NOW + 30 * DAY - 1) == []
    assert shown(campaign, closed, ctx(), NOW + 30 * DAY) == ["c"]


def test_close_suppression_configurable_and_forever() -> None:
    closed = person(memory=memory(closed=NOW))
    assert shown(compile_one(after_close="2h"), closed, ctx(), NOW + 2 * 3600) == ["c"]
    assert shown(compile_one(after_close="forever"), closed, ctx(), NOW + 3650 * DAY) == []


def test_conversion_suppresses_forever_by_default() -> None:
    campaign = compile_one()
    assert campaign.after_conversion == math.inf
    converted = person(memory=memory(converted=NOW))
    assert shown(campaign, converted, ctx(), NOW + 3650 * DAY) == []


def test_conversion_suppression_expires() -> None:
    converted = person(memory=memory(converted=NOW))
    campaign = compile_one(after_conversion="1d")
    assert shown(campaign, converted, ctx(), NOW + DAY - 1) == []
    assert shown(campaign, converted, ctx(), NOW + DAY) == ["c"]


def test_memory_of_another_campaign_does_not_suppress() -> None:
    other = {"other": CampaignMemory(closed=NOW, converted=NOW, impressions=3, sessions=[SESSION])}
    assert shown(compile_one(frequency="once"), person(memory=other), ctx()) == ["c"]


# ---------------------------------------------------------------------------
# Feedback from the beacon


def feedback(kind: str, ts: float = NOW, **props: Any) -> Event:
    return Event(id=1, type=kind, ts=ts, props=props)


def test_impression_counts_and_remembers_the_session() -> None:
    before: dict[str, CampaignMemory] = {}
    after = record_feedback(before, feedback("impression", campaign="c"), SESSION)
    assert after == {"c": CampaignMemory(impressions=1, last_impression=NOW, sessions=[SESSION])}
    assert before == {}
    again = record_feedback(after or {}, feedback("impression", NOW + 5, campaign="c"), SESSION)
    assert again == {"c": CampaignMemory(impressions=2, last_impression=NOW + 5, sessions=[SESSION])}


def test_feedback_does_not_mutate_its_input() -> None:
    entry = CampaignMemory(impressions=1, last_impression=NOW, sessions=["a:1"])
    before = {"c": entry, "other": CampaignMemory(closed=NOW)}
    after = record_feedback(before, feedback("impression", NOW + 1, campaign="c"), "a:2")
    assert entry == CampaignMemory(impressions=1, last_impression=NOW, sessions=["a:1"])
    assert set(before) == {"c", "other"}
    assert after is not None
    assert after["c"].sessions == ["a:1", "a:2"]
    assert after["other"] is before["other"]


def test_sessions_are_capped_to_the_latest() -> None:
    state: dict[str, CampaignMemory] = {}
    for visit in range(MAX_SESSIONS + 5):
        state = record_feedback(state, feedback("impression", NOW + visit, campaign="c"), f"v:{visit}") or {}
    sessions = state["c"].sessions
    assert len(sessions) == MAX_SESSIONS
    assert sessions[-1] == f"v:{MAX_SESSIONS + 4}"
    assert sessions[0] == "v:5"
    assert state["c"].impressions == MAX_SESSIONS + 5


def test_a_repeated_session_moves_to_the_end() -> None:
    start = {"c": CampaignMemory(impressions=2, last_impression=NOW, sessions=["a:1", "a:2"])}
    after = record_feedback(start, feedback("impression", campaign="c"), "a:1")
    assert after is not None
    assert after["c"].sessions == ["a:2", "a:1"]


def test_close_and_conversion_keep_the_latest_time() -> None:
    after = record_feedback({}, feedback("close", NOW, campaign="c"), SESSION) or {}
    after = record_feedback(after, feedback("close", NOW - 50, campaign="c"), SESSION) or {}
    after = record_feedback(after, feedback("conversion", NOW + 9, campaign="c"), SESSION) or {}
    assert after == {"c": CampaignMemory(closed=NOW, converted=NOW + 9)}


@given(
    impressions=st.integers(0, 50),
    last_impression=_TIMES,
    sessions=st.lists(st.sampled_from(["v1:1", "v1:2", "v2:1"]), max_size=3, unique=True),
    closed=_TIMES,
    converted=_TIMES,
)
def test_a_campaign_memory_reads_back_as_stored_in_its_short_form(
    impressions: int,
    last_impression: float | None,
    sessions: list[str],
    closed: float | None,
    converted: float | None,
) -> None:
    memory = CampaignMemory(impressions, last_impression, sessions, closed, converted)
    stored = orjson.dumps(memory.to_json())
    assert CampaignMemory.from_json(orjson.loads(stored)) == memory
    assert b"impressions" not in stored and b"null]" not in stored and b"[]]" not in stored


def test_a_campaign_memory_drops_what_never_happened_and_keeps_times_to_the_millisecond() -> None:
    seen = CampaignMemory(impressions=1, last_impression=NOW + 0.1234567, sessions=[SESSION])
    assert seen.to_json() == [1, NOW + 0.123, [SESSION]]
    assert CampaignMemory(closed=NOW).to_json() == [0, None, [], NOW]
    assert CampaignMemory().to_json() == []
    assert CampaignMemory.from_json([]) == CampaignMemory()


def test_a_campaign_memory_stored_before_the_short_form_still_reads() -> None:
    old = {"impressions": 2, "last_impression": NOW, "sessions": ["v1:1", "v1:2"], "closed": None, "converted": NOW}
    memory = CampaignMemory(impressions=2, last_impression=NOW, sessions=["v1:1", "v1:2"], converted=NOW)
    assert CampaignMemory.from_json(old) == memory
    assert CampaignMemory.from_json({"closed": NOW}) == CampaignMemory(closed=NOW)
    assert memory.to_json() == [2, NOW, ["v1:1", "v1:2"], None, NOW]


@pytest.mark.parametrize(
    "event",
    [
        feedback("page", campaign="c"),
        feedback("impression"),
        feedback("impression", campaign=""),
        feedback("impression", campaign=7),
        feedback("close", campaign="a b"),
        feedback("conversion", campaign="x" * 65),
    ],
)
def test_not_feedback(event: Event) -> None:
    assert record_feedback({}, event, SESSION) is None


def test_unknown_campaigns_can_be_refused() -> None:
    assert record_feedback({}, feedback("impression", campaign="forged"), SESSION, known={"c"}) is None
    assert record_feedback({}, feedback("impression", campaign="c"), SESSION, known={"c"}) is not None


def test_an_impression_then_suppresses_the_session_popup() -> None:
    campaign = compile_one(when={"scores": {"engagement": ">= 12"}})
    hot = person(engagement=13)
    assert shown(campaign, hot, ctx()) == ["c"]
    after = record_feedback(hot.campaigns, feedback("impression", campaign="c"), SESSION)
    assert after is not None
    assert shown(campaign, person(memory=after, engagement=13), ctx()) == []


# ---------------------------------------------------------------------------
# Content


def test_content_holds_only_the_fields_set() -> None:
    (popup,) = decide((compile_one(),), person(), ctx(), NOW)
    assert dict(popup.content) == {"title": "Bonjour"}
    chat = compile_campaigns([{"id": "chat", "kind": "chat", "opener": " Une question ? "}], SCORES)
    assert dict(chat[0].content) == {"opener": "Une question ?"}


def test_full_popup_renders_to_json() -> None:
    campaign = compile_one(
        priority=3,
        text="Un expert vous rappelle.",
        cta={"label": "Rendez-vous", "url": "/demo/contact"},
        form={"name": "popup-demo", "submit": "Être rappelé", "fields": ["email", "company"]},
        trigger={"delay": 5},
    )
    (decision,) = decide((campaign,), person(), ctx(), NOW)
    assert orjson.loads(orjson.dumps(decision.to_json())) == {
        "campaign": "c",
        "kind": "popup",
        "trigger": {"on": "delay", "seconds": 5},
        "title": "Bonjour",
        "text": "Un expert vous rappelle.",
        "cta": {"label": "Rendez-vous", "url": "/demo/contact"},
        "form": {"name": "popup-demo", "fields": ["email", "company"], "submit": "Être rappelé"},
    }
    assert decision.priority == 3


def test_form_fields_carry_their_labels_to_the_beacon() -> None:
    fields = [{"name": "email", "label": " E-mail professionnel "}, "company", {"name": "job_title"}]
    campaign = compile_one(form={"name": "popup-demo", "fields": fields})
    (decision,) = decide((campaign,), person(), ctx(), NOW)
    sent = orjson.loads(orjson.dumps(decision.to_json()))
    # A label is plain text like the rest of the copy; a table without one is the bare name.
    assert sent["form"]["fields"] == [{"name": "email", "label": "E-mail professionnel"}, "company", "job_title"]


def test_content_campaign_names_its_slot() -> None:
    (campaign,) = compile_campaigns([{"id": "hero", "kind": "content", "slot": "hero", "text": "x"}], SCORES)
    assert campaign.placement == "slot:hero"
    assert campaign.content["slot"] == "hero"


@pytest.mark.parametrize(
    "url", ["/demo/contact", "/demo/files/livre-blanc-a.pdf?x=1#y", "https://example.com/a", "http://a.fr"]
)
def test_safe_cta_urls(url: str) -> None:
    assert compile_one(cta={"label": "Go", "url": url}).content["cta"]["url"] == url


def test_a_decision_never_carries_personal_data() -> None:
    campaign = compile_one(
        text="Un expert vous rappelle.",
        form={"name": "popup-demo", "fields": ["email", "company", "job_title"]},
        when={"scores": {"engagement": ">= 12"}},
    )
    who = person("known", engagement=13.37, medical=4.25)
    where = ctx(
        url="https://x.fr/demo/?email=marc.dupont%40acme.fr&utm_source=newsletter",
        referrer="https://mail.example/?to=marc.dupont@acme.fr",
        utm={"source": "newsletter-marc"},
    )
    (decision,) = decide((campaign,), who, where, NOW)
    sent = orjson.dumps(decision.to_json()).decode()
    for private in ("marc", "acme", "13.37", "4.25", "known", "newsletter", "v1:3"):
        assert private not in sent
    assert set(decision.to_json()) == {"campaign", "kind", "trigger", "title", "text", "form"}


# ---------------------------------------------------------------------------
# Seed 003: an undecided interest gets both white papers


UNDECIDED = """
[[campaigns]]
id = "undecided-interest"
kind = "content"
slot = "offer"
title = "Général ou médical ?"
text = "Nos deux livres blancs : A (vue d'ensemble) et notre gamme médicale."
cta = { label = "Télécharger", url = "/demo/files/livre-blanc-a.pdf" }
[campaigns.when]
condition = "engagement >= 12 and abs(medical - general) <= 2"
"""


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ({"engagement": 13, "medical": 6, "general": 6}, ["undecided-interest"]),
        ({"engagement": 18, "medical": 3, "general": 5}, ["undecided-interest"]),
        ({"engagement": 12}, ["undecided-interest"]),
        ({"engagement": 13, "medical": 9, "general": 3}, []),
        ({"engagement": 13, "medical": 0, "general": 6}, []),
        ({"engagement": 5, "medical": 3, "general": 3}, []),
    ],
)
def test_seed_003_undecided_interest(scores: dict[str, float], expected: list[str]) -> None:
    campaigns = compile_campaigns(tomllib.loads(UNDECIDED)["campaigns"], SCORES)
    assert shown(campaigns, PersonView("anonymous", scores, {}), ctx()) == expected


# ---------------------------------------------------------------------------
# Errors name the exact key


def bad(**raw: Any) -> list[dict[str, Any]]:
    return [{"id": "c", "kind": "popup", "title": "Bonjour", **raw}]


@pytest.mark.parametrize(
    ("raw", "where", "says"),
    [
        ({"campaigns": []}, "campaigns", "array of tables"),
        (["not a table"], "campaigns[0]", "expected a table"),
        ([{"kind": "popup", "title": "x"}], "campaigns[0].id", "needs an id"),
        ([{"id": "a b", "kind": "popup", "title": "x"}], "campaigns[0].id", "needs an id"),
        (bad() + bad(), "campaigns[c].id", "duplicate"),
        (bad(colour="red"), "campaigns[c].colour", "unknown key"),
        (bad(kind="modal"), "campaigns[c].kind", "popup, chat, content, banner"),
        (bad(priority="high"), "campaigns[c].priority", "integer"),
        (bad(priority=True), "campaigns[c].priority", "integer"),
        (bad(title="x" * 121), "campaigns[c].title", "121 characters, at most 120"),
        (bad(title="  "), "campaigns[c].title", "non-empty string"),
        (bad(title=["a"]), "campaigns[c].title", "non-empty string"),
        (bad(text="x" * 1001), "campaigns[c].text", "at most 1000"),
        ([{"id": "c", "kind": "banner"}], "campaigns[c].text", "needs a title or a text"),
        (bad(cta="/demo/contact"), "campaigns[c].cta", "expected a table"),
        (bad(cta={"label": "Go"}), "campaigns[c].cta.url", "missing"),
        (bad(cta={"url": "/a"}), "campaigns[c].cta.label", "missing"),
        (bad(cta={"label": "x" * 61, "url": "/a"}), "campaigns[c].cta.label", "at most 60"),
        (bad(cta={"label": "Go", "url": "/a", "target": "_blank"}), "campaigns[c].cta.target", "unknown key"),
        (bad(cta={"label": "Go", "url": "javascript:alert(1)"}), "campaigns[c].cta.url", "http(s)"),
        (bad(cta={"label": "Go", "url": "JavaScript:alert(1)"}), "campaigns[c].cta.url", "http(s)"),
        (bad(cta={"label": "Go", "url": "java\tscript:alert(1)"}), "campaigns[c].cta.url", "control"),
        (bad(cta={"label": "Go", "url": "data:text/html,x"}), "campaigns[c].cta.url", "http(s)"),
        (bad(cta={"label": "Go", "url": "//evil.example/"}), "campaigns[c].cta.url", "http(s)"),
        (bad(cta={"label": "Go", "url": "/\\evil.example/"}), "campaigns[c].cta.url", "backslash"),
        (bad(cta={"label": "Go", "url": "contact"}), "campaigns[c].cta.url", "http(s)"),
        (bad(cta={"label": "Go", "url": "https://"}), "campaigns[c].cta.url", "http(s)"),
        (bad(cta={"label": "Go", "url": "http://[::1"}), "campaigns[c].cta.url", "http(s)"),
        (bad(cta={"label": "Go", "url": 5}), "campaigns[c].cta.url", "http(s)"),
        (bad(form={"name": "f", "fields": ["company"]}), "campaigns[c].form.fields", "must include 'email'"),
        (bad(form={"name": "f", "fields": []}), "campaigns[c].form.fields", "list of 1 to"),
        (bad(form={"name": "f", "fields": ["email", "email"]}), "campaigns[c].form.fields", "twice"),
        (bad(form={"name": "f", "fields": ["email", "a b"]}), "campaigns[c].form.fields[1]", "'a b'"),
        (bad(form={"name": "f", "fields": ["email", {"name": "a b"}]}), "campaigns[c].form.fields[1].name", "'a b'"),
        (
            bad(form={"name": "f", "fields": [{"name": "email", "label": ""}]}),
            "campaigns[c].form.fields[0].label",
            "non-empty",
        ),
        (
            bad(form={"name": "f", "fields": [{"name": "email", "label": "x" * 61}]}),
            "campaigns[c].form.fields[0].label",
            "at most 60",
        ),
        (
            bad(form={"name": "f", "fields": [{"name": "email", "hint": "x"}]}),
            "campaigns[c].form.fields[0].hint",
            "unknown",
        ),
        (
            bad(form={"name": "f", "fields": ["email", {"name": "email", "label": "E"}]}),
            "campaigns[c].form.fields",
            "twice",
        ),
        (bad(form={"fields": ["email"]}), "campaigns[c].form.name", "form name"),
        (bad(form={"name": "f", "fields": ["email"], "action": "/x"}), "campaigns[c].form.action", "unknown"),
        (bad(form={"name": "f", "fields": ["email"], "submit": ""}), "campaigns[c].form.submit", "non-empty"),
        (
            [{"id": "c", "kind": "banner", "text": "x", "form": {"name": "f", "fields": ["email"]}}],
            "campaigns[c].form",
            "only allowed for kind = 'popup'",
        ),
        ([{"id": "c", "kind": "content", "text": "x"}], "campaigns[c].slot", "required for kind = 'content'"),
        (bad(slot="hero"), "campaigns[c].slot", "only allowed for kind = 'content'"),
        (
            [{"id": "c", "kind": "content", "text": "x", "slot": 'a"]'}],
            "campaigns[c].slot",
            "slot name",
        ),
        ([{"id": "c", "kind": "chat"}], "campaigns[c].opener", "required for kind = 'chat'"),
        (bad(opener="Bonjour"), "campaigns[c].opener", "only allowed for kind = 'chat'"),
        (bad(trigger="later"), "campaigns[c].trigger", "'immediate', 'exit'"),
        (bad(trigger={"delay": 5, "scroll": 5}), "campaigns[c].trigger", "'immediate', 'exit'"),
        (bad(trigger={"hover": 1}), "campaigns[c].trigger", "'immediate', 'exit'"),
        (bad(trigger={"delay": 0}), "campaigns[c].trigger.delay", "seconds above 0"),
        (bad(trigger={"delay": "5"}), "campaigns[c].trigger.delay", "seconds above 0"),
        (bad(trigger={"scroll": 150}), "campaigns[c].trigger.scroll", "percent above 0 and at most 100"),
        (bad(trigger={"scroll": True}), "campaigns[c].trigger.scroll", "percent"),
        (
            [{"id": "c", "kind": "content", "slot": "s", "text": "x", "trigger": "exit"}],
            "campaigns[c].trigger",
            "only 'immediate'",
        ),
        (bad(frequency="weekly"), "campaigns[c].frequency", "'always', 'session', 'once' or a duration"),
        (bad(frequency=7), "campaigns[c].frequency", "duration"),
        (bad(after_close="soon"), "campaigns[c].after_close", "duration"),
        (bad(after_conversion="never"), "campaigns[c].after_conversion", "duration"),
        (bad(when="engagement >= 12"), "campaigns[c].when", "expected a table"),
        (bad(when={"score": {}}), "campaigns[c].when.score", "unknown key"),
        (bad(when={"scores": {"enagement": ">= 1"}}), "campaigns[c].when.scores.enagement", "unknown score"),
        (bad(when={"scores": {}}), "campaigns[c].when.scores", "at least one score"),
        (bad(when={"scores": {"fit": {"min": 1}}}), "campaigns[c].when.scores.fit", "expected a string"),
        (bad(when={"stage": ["mql", "lead"]}), "campaigns[c].when.stage", "anonymous, known, mql, sql"),
        (bad(when={"stage": []}), "campaigns[c].when.stage", "expected one or a list"),
        (bad(when={"device": "phone"}), "campaigns[c].when.device", "desktop, mobile, tablet"),
        (bad(when={"url": "~(unclosed"}), "campaigns[c].when.url", "invalid regular expression"),
        (bad(when={"referrer": ""}), "campaigns[c].when.referrer", "non-empty"),
        (bad(when={"utm": {"gclid": "x"}}), "campaigns[c].when.utm.gclid", "unknown UTM parameter"),
        (bad(when={"utm": {}}), "campaigns[c].when.utm", "at least one"),
        (bad(when={"utm": {"source": []}}), "campaigns[c].when.utm.source", "empty list"),
        (bad(when={"returning": "yes"}), "campaigns[c].when.returning", "true"),
        (bad(when={"visits": {"min": 2}}), "campaigns[c].when.visits", "expected a string"),
        (bad(when={"condition": "engagement >="}), "campaigns[c].when.condition", "invalid syntax"),
        (bad(when={"condition": "score.x > 1"}), "campaigns[c].when.condition", "attribute access"),
        (bad(when={"condition": 12}), "campaigns[c].when.condition", "must be a string"),
        (
            bad(when={"condition": "engagment > 1"}),
            "campaigns[c].when.condition",
            "allowed names: engagement, fit, general, medical, returning, stage, stage_rank, visits",
        ),
    ],
)
def test_grid_errors_name_the_key(raw: Any, where: str, says: str) -> None:
    error = grid_error(raw)
    assert error.where == where
    assert says in error.message


def test_a_score_named_like_a_condition_variable_is_refused() -> None:
    with pytest.raises(ProgrammeError) as info:
        compile_campaigns(bad(when={"condition": "visits > 1"}), ("engagement", "visits"))
    assert info.value.where == "campaigns[c].when.condition"
    assert "'visits'" in info.value.message


def test_no_campaigns() -> None:
    assert compile_campaigns(None, SCORES) == ()
    assert compile_campaigns([], SCORES) == ()


def test_defaults() -> None:
    campaign = compile_one()
    assert (campaign.priority, campaign.frequency, campaign.after_close, campaign.after_conversion) == (
        0,
        "session",
        30 * DAY,
        math.inf,
    )
    assert dict(campaign.trigger) == {"on": "immediate"}


# ---------------------------------------------------------------------------
# The demo programme's campaigns


def seed_campaigns() -> tuple[Campaign, ...]:
    doc = tomllib.loads(SEED_GRID.read_text(encoding="utf-8"))
    return compile_campaigns(doc.get("campaigns"), doc["scores"].keys())


def test_seed_grid_campaigns_compile() -> None:
    assert [c.id for c in seed_campaigns()] == [
        "sales-popup",
        "undecided-interest",
        "medical-chat",
        "newsletter-banner",
    ]


@pytest.mark.parametrize(
    ("scores", "where", "expected"),
    [
        # Marc: A + B + 3 quality-blog visits = 13, undecided between the lines.
        ({"engagement": 13}, ctx(url="/demo/blog/qualite/precision"), ["sales-popup", "undecided-interest"]),
        # Capucine: 18 and clearly medical.
        (
            {"engagement": 18, "medical": 9, "general": 0},
            ctx(url="/demo/produits/medical/m1"),
            ["sales-popup", "medical-chat"],
        ),
        # Élodie: 5, back for a second visit: nurture with the newsletter.
        ({"engagement": 5}, ctx(url="/demo/", visits=2), ["newsletter-banner"]),
        ({"engagement": 5}, ctx(url="/demo/", visits=1), []),
        # The sales pop-up belongs to the demo site only.
        ({"engagement": 13}, ctx(url="https://ailleurs.example/"), ["undecided-interest"]),
    ],
)
def test_seed_grid_decisions(scores: dict[str, float], where: VisitContext, expected: list[str]) -> None:
    assert sorted(shown(seed_campaigns(), PersonView("anonymous", scores, {}), where)) == sorted(expected)


def test_a_held_out_person_is_capped_like_one_who_saw_the_campaign() -> None:
    campaign = compile_one(frequency="session")
    memory = record_held_out({}, "c", SESSION, NOW)
    assert memory["c"].impressions == 1 and memory["c"].sessions == [SESSION]
    assert shown(campaign, person(memory=memory), ctx()) == []
    assert shown(campaign, person(memory=memory), ctx(session="v1:4")) == ["c"]
