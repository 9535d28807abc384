"""Segment track names onto the beacon's kinds, and calls put in the beacon's shape."""

from __future__ import annotations

import pytest

from tracker.domain.facts import EVENT_TYPES
from tracker.web.segment_kinds import TRACK_KINDS, kind_of, shape
from tracker.web.validation import Invalid

PAGE = {"url": "http://shop.test/demo/ressources", "referrer": "https://www.google.fr/"}


def test_every_mapped_kind_is_a_beacon_kind_a_track_can_mean() -> None:
    assert set(TRACK_KINDS.values()) <= EVENT_TYPES - {"identify", "custom"}
    assert all(kind_of(kind) == kind for kind in EVENT_TYPES - {"identify", "custom"})


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ("download", "download"),
        ("Download", "download"),
        ("File Downloaded", "download"),
        ("file_download", "download"),  # Google Analytics 4
        ("  Form   Submitted ", "form"),
        ("form-submit", "form"),
        ("Link Clicked", "click"),
        ("Outbound Link Clicked", "outbound"),
        ("Page Viewed", "page"),
        ("ENGAGED", "engaged"),
        ("webinar_signup", None),
        ("identify", None),  # identify has its own call, with its own rules
        ("custom", None),
    ],
)
def test_names_are_read_case_and_separator_insensitively(event: str, kind: str | None) -> None:
    assert kind_of(event) == kind


def test_a_download_points_at_the_file_and_remembers_its_page() -> None:
    assert shape("download", {"url": "https://cdn.test/livre-blanc-a.pdf"}, PAGE, "m") == {
        "type": "download",
        "url": "https://cdn.test/livre-blanc-a.pdf",
        "props": {"url": "https://cdn.test/livre-blanc-a.pdf", "page": PAGE["url"]},
    }
    # A relative file is read against the page it was on; without any link, the page itself.
    assert shape("download", {"file": "files/livre-blanc-c.pdf"}, PAGE, "m")["url"] == (
        "http://shop.test/demo/files/livre-blanc-c.pdf"
    )
    assert shape("outbound", {}, PAGE, "m")["url"] == PAGE["url"]


def test_a_page_view_prefers_its_properties_and_other_kinds_their_page() -> None:
    viewed = shape("page", {"url": "http://shop.test/demo/tarifs"}, PAGE, "m")
    assert (viewed["url"], viewed["ref"]) == ("http://shop.test/demo/tarifs", PAGE["referrer"])
    clicked = shape("click", {"url": "http://shop.test/demo/contact", "label": "cta-demo"}, PAGE, "m")
    assert (clicked["url"], clicked["name"]) == (PAGE["url"], "cta-demo")


def test_a_form_is_named_by_its_form_property_which_is_not_one_of_its_fields() -> None:
    form = shape("form", {"form_id": "demo", "email": "e@example.com", "name": "Élodie"}, PAGE, "m")
    assert form == {
        "type": "form",
        "url": PAGE["url"],
        "name": "demo",
        "props": {"email": "e@example.com", "name": "Élodie"},
    }


def test_a_property_read_for_the_kind_must_have_its_type() -> None:
    with pytest.raises(Invalid) as refused:
        shape("download", {"url": ["a.pdf"]}, PAGE, "batch[3]")
    assert refused.value.field == "batch[3].properties.url"
    with pytest.raises(Invalid) as refused:
        shape("click", {}, {"url": 42}, "batch[3]")
    assert refused.value.field == "batch[3].context.page.url"
