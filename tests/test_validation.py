"""Beacon payload validation: every field the server reads has one JSON type, and a wrong one is a
rejection naming the event's index and field, or a 400 naming an envelope field — never an exception."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tracker.errors import BadRequest
from tracker.web.validation import MAX_BACKDATE, Invalid, email_of, incoming, parse_payload

from .conftest import START

NOW = START
PAGE = {"type": "page", "url": "http://shop.test/demo/"}
# Each field the server reads, and JSON values of the wrong type for it.
NOT_TEXT: list[Any] = [["page"], {"a": 1}, 12, 1.5, True]
WRONG_TYPES = {
    "type": NOT_TEXT,
    "name": NOT_TEXT,
    "url": NOT_TEXT,
    "ref": NOT_TEXT,
    "title": NOT_TEXT,
    "props": [["a"], 12, 1.5, True, "a=1", ""],
    "t": [["1"], {"a": 1}, True, "1767225600000"],
}


def rejections(*events: Any, **envelope: Any) -> list[tuple[int, str]]:
    payload = parse_payload({"site": "demo", "events": [PAGE, *events], **envelope}, NOW)
    assert [e.type for e in payload.events] == ["page"]  # the valid event beside them is kept
    return [(r.index, r.field) for r in payload.rejected]


def test_an_unhashable_event_type_is_a_rejection_not_a_crash() -> None:
    # Reproduced: {"type": ["page"]} raised TypeError (unhashable) and answered 500.
    assert rejections({"type": ["page"]}, {"type": {"a": 1}}) == [(1, "events[1].type"), (2, "events[2].type")]


@pytest.mark.parametrize(("key", "value"), [(key, value) for key, values in WRONG_TYPES.items() for value in values])
def test_every_event_field_of_the_wrong_type_is_named(key: str, value: Any) -> None:
    assert rejections({"type": "custom", "name": "n", key: value}) == [(1, f"events[1].{key}")]


@pytest.mark.parametrize("key", ["name", "url", "ref", "title"])
def test_nul_characters_are_refused_where_postgresql_cannot_store_them(key: str) -> None:
    assert rejections({"type": "custom", "name": "n", key: "a\x00b"}) == [(1, f"events[1].{key}")]


def test_nul_in_a_property_name_or_value_is_refused() -> None:
    assert rejections(
        {"type": "form", "props": {"e\x00mail": "x@example.com"}},
        {"type": "form", "props": {"company": "A\x00B"}},
    ) == [(1, "events[1].props"), (2, "events[2].props.company")]


@pytest.mark.parametrize(
    ("kind", "props", "field"),
    [
        ("engaged", {"seconds": "12"}, "props.seconds"),
        ("engaged", {"seconds": True}, "props.seconds"),
        ("impression", {"campaign": 7}, "props.campaign"),
        ("chat", {"campaign": ["c"]}, "props.campaign"),
        ("identify", {"email": ["x@example.com"]}, "props.email"),
        ("identify", {}, "props.email"),
    ],
)
def test_what_each_kind_needs_has_its_type(kind: str, props: dict[str, Any], field: str) -> None:
    assert rejections({"type": kind, "props": props}) == [(1, f"events[1].{field}")]


def test_odd_but_valid_json_is_kept_as_sent() -> None:
    props = {
        "big": 18446744073709551615,  # orjson keeps integers up to 2**64 - 1 exact
        "zero": -0.0,
        "huge": 1e308,
        "clé é-1.x": "unicode keys that are no identifiers",
        "list": [1, "a", None, {"k": True}],
    }
    payload = parse_payload({"site": "demo", "events": [{"type": "custom", "name": "n", "props": props}]}, NOW)
    assert payload.rejected == [] and payload.events[0].props == props
    assert orjson.loads(orjson.dumps(payload.events[0].props)) == props  # and it stores as it came


def test_deep_nesting_is_a_rejection() -> None:
    deep: Any = 1
    for _ in range(900):
        deep = [deep]
    assert rejections({"type": "custom", "name": "n", "props": {"deep": deep}}) == [(1, "events[1].props.deep[0][0]")]


@pytest.mark.parametrize("t", [1e308, -1e308, 0, 18446744073709551615, -0.0])
@pytest.mark.parametrize("sent_at", [1e308, 1, 18446744073709551615, NOW * 1000])
def test_extreme_client_times_stay_within_the_last_week(t: float, sent_at: float) -> None:
    payload = parse_payload({"site": "demo", "sent_at": sent_at, "events": [{**PAGE, "t": t}]}, NOW)
    assert NOW - MAX_BACKDATE <= payload.events[0].ts <= NOW


@pytest.mark.parametrize(
    ("envelope", "field"),
    [
        ({"sent_at": "1767225600000"}, "sent_at"),
        ({"sent_at": True}, "sent_at"),
        ({"sent_at": -5}, "sent_at"),
        ({"ctx": {"webdriver": "yes"}}, "ctx.webdriver"),
        ({"ctx": {"consent": 1}}, "ctx.consent"),
        ({"vid": ["t"]}, "vid"),
        ({"site": {"a": 1}}, "site"),
        ({"events": "page"}, "events"),
    ],
)
def test_envelope_fields_of_the_wrong_type_answer_400_naming_them(envelope: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_payload({"site": "demo", "events": [PAGE], **envelope}, NOW)
    assert refused.value.field == field


def test_email_of_identifies_forms_leniently_and_identify_calls_strictly() -> None:
    assert email_of({"Courriel": " Marc@Example.com "}, "props", strict=False) == "marc@example.com"
    assert email_of({"email": "not an e-mail"}, "props", strict=False) is None  # still a form submission
    assert email_of({"company": "Atelier"}, "props", strict=True) is None
    with pytest.raises(Invalid) as refused:
        email_of({"email": 12}, "batch[0].traits", strict=True)
    assert refused.value.field == "batch[0].traits.email"


def test_incoming_checks_the_beacon_shape_whatever_the_door() -> None:
    form = incoming({"type": "form", "props": {"email": "e@example.com", "password": "x"}}, "e", NOW)
    assert (form.name, form.email, dict(form.props)) == ("form", "e@example.com", {"email": "e@example.com"})
    with pytest.raises(Invalid) as refused:
        incoming({"type": "engaged", "props": {}}, "e", NOW)
    assert refused.value.field == "e.props.seconds"
