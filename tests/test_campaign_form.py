"""The campaign editor's inputs ⇄ a [[campaigns]] table, and programme errors placed on their input."""

from __future__ import annotations

import pytest

from tracker.assets import asset_root
from tracker.domain.programme.campaign_edit import campaign_tables
from tracker.web.admin.campaign_form import FormError, input_of, table_of, values_of

SCORES = ("engagement", "medical", "general", "fit")
SEED = (asset_root() / "examples" / "seed-programme.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("campaign", list(campaign_tables(SEED)))
def test_every_seed_campaign_survives_the_form_unchanged(campaign: str) -> None:
    table = campaign_tables(SEED)[campaign]
    assert table_of(values_of(table), SCORES, table) == table


def test_values_the_form_has_no_widget_for_round_trip_as_toml() -> None:
    table = {
        "id": "c",
        "kind": "banner",
        "text": "x",
        "when": {"scores": {"engagement": [">= 3", "<= 1"]}, "url": ["/a/*", "/b/*"], "visits": 3, "grade": "A1"},
    }
    values = values_of(table)
    assert values["score_engagement"] == '[">= 3", "<= 1"]' and values["when_url"] == "/a/*\n/b/*"
    assert table_of(values, SCORES, table) == table
    listed = {**table, "when": {"grade": ["A1", "B1"]}}
    assert values_of(listed)["when_grade"] == '["A1", "B1"]' and table_of(values_of(listed), SCORES, listed) == listed


def test_defaults_are_not_written_unless_the_toml_had_them() -> None:
    values = {"id": "c", "kind": "banner", "text": "x", "priority": "0", "trigger": "immediate"}
    values.update(frequency="session", after_close="30d")
    assert table_of(values, SCORES, {}) == {"id": "c", "kind": "banner", "text": "x"}


def test_kind_only_inputs_follow_the_kind() -> None:
    values = {"id": "c", "kind": "banner", "text": "x", "opener": "Bonjour", "slot": "hero", "field_name_0": "email"}
    assert "opener" not in table_of(values, SCORES, {}) and "form" not in table_of(values, SCORES, {})


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"priority": "1.5"}, "priority"),
        ({"trigger": "delay", "trigger_value": "soon"}, "trigger_value"),
        ({"kind": "popup", "field_label_3": "Fonction"}, "field_name_3"),
        ({"score_fit": "[1,"}, "score_fit"),
    ],
)
def test_inputs_no_toml_can_hold(values: dict[str, str], name: str) -> None:
    with pytest.raises(FormError) as caught:
        table_of({"id": "c", "kind": "banner", **values}, SCORES, {})
    assert caught.value.name == name


@pytest.mark.parametrize(
    ("where", "name"),
    [
        ("campaigns[c].form.fields[2].label", "field_label_2"),
        ("campaigns[c].form.fields[1]", "field_name_1"),
        ("campaigns[c].form.fields", "field_name_0"),
        ("campaigns[c].cta.url", "cta_url"),
        ("campaigns[c].cta", "cta_label"),
        ("campaigns[c].trigger.scroll", "trigger_value"),
        ("campaigns[c].when.scores.fit", "score_fit"),
        ("campaigns[c].when.utm.source", "utm_source"),
        ("campaigns[c].when.condition", "when_condition"),
        ("campaigns[c].when.grade", "when_grade"),
        ("campaigns[0].id", "id"),
        ("campaigns[c].when.scores.nope", ""),
        ("rules[r].points", ""),
    ],
)
def test_programme_errors_land_on_their_input(where: str, name: str) -> None:
    assert input_of(where, SCORES) == name
