"""Editing one campaign inside the programme's TOML: the rest stays as the marketer wrote it."""

from __future__ import annotations

import tomllib

import pytest

from tracker.domain.programme.campaign_edit import CampaignMissing, campaign_tables, put_campaign, remove_campaign
from tracker.domain.programme.load import load_programme

SOURCE = """# The demo programme
[scores.engagement]
sql = 12

# A call-back offer.
[[campaigns]]
id = "offer"
kind = "popup"
title = "Bonjour"   # short on purpose
frequency = "session"
[campaigns.when]
scores = { engagement = ">= 12" }

[[campaigns]]
id = "news"
kind = "banner"
text = "Lettre"
"""


def test_changing_one_key_changes_one_line() -> None:
    table = {**campaign_tables(SOURCE)["offer"], "frequency": "once"}
    edited = put_campaign(SOURCE, "offer", table)
    assert edited == SOURCE.replace('frequency = "session"', 'frequency = "once"')


def test_nested_targeting_stays_a_section_and_removed_keys_go() -> None:
    table = campaign_tables(SOURCE)["offer"]
    table.pop("frequency")
    table["when"] = {"scores": {"engagement": ">= 10"}, "stage": ["mql", "sql"]}
    edited = put_campaign(SOURCE, "offer", table)
    assert "frequency" not in edited and "# short on purpose" in edited and "[campaigns.when]" in edited
    assert tomllib.loads(edited)["campaigns"][0]["when"] == {"scores": {"engagement": ">= 10"}, "stage": ["mql", "sql"]}


def test_a_new_campaign_is_appended_with_inline_tables() -> None:
    new = {
        "id": "form",
        "kind": "popup",
        "title": "Contact",
        "form": {"name": "f", "fields": [{"name": "email", "label": "E-mail professionnel"}, "company"]},
        "when": {"url": "/demo/*"},
    }
    edited = put_campaign(SOURCE, None, new)
    assert edited.startswith(SOURCE.rstrip("\n") + '\n\n[[campaigns]]\nid = "form"')
    assert 'form = {name = "f", fields = [{name = "email", label = "E-mail professionnel"}, "company"]}' in edited
    assert campaign_tables(edited)["form"] == new
    load_programme(edited)


def test_removing_keeps_the_others_and_the_last_one_takes_the_array() -> None:
    edited = remove_campaign(SOURCE, "offer")
    assert list(campaign_tables(edited)) == ["news"] and edited.startswith("# The demo programme")
    assert "campaigns" not in tomllib.loads(remove_campaign(edited, "news"))


def test_a_campaign_deleted_in_the_meantime_is_named() -> None:
    with pytest.raises(CampaignMissing) as caught:
        put_campaign(SOURCE, "gone", {"id": "gone"})
    assert caught.value.where == "campaigns[gone]"
    with pytest.raises(CampaignMissing):
        remove_campaign(SOURCE, "gone")


def test_targeting_written_inline_stays_inline_and_new_keys_go_before_sections() -> None:
    source = SOURCE.replace('text = "Lettre"', 'text = "Lettre"\nwhen = { stage = "sql" }')
    news = {**campaign_tables(source)["news"], "when": {"stage": ["mql", "sql"]}}
    edited = put_campaign(source, "news", news)
    assert edited == source.replace('when = { stage = "sql" }', 'when = {stage = ["mql", "sql"]}')
    offer = {**campaign_tables(SOURCE)["offer"], "priority": 3}
    edited = put_campaign(SOURCE, "offer", offer)
    assert tomllib.loads(edited)["campaigns"][0] == offer
    assert edited.index("priority = 3") < edited.index("[campaigns.when]")
