"""Route parameters: integers in ASCII digits within bounds, text without NUL, or BadRequest naming the field."""

from __future__ import annotations

import pytest

from tracker.errors import BadRequest
from tracker.web.params import int_param, text_param


@pytest.mark.parametrize(
    ("raw", "expected"), [("0", 0), ("007", 7), ("500", 500), ("999999999999999999", 999_999_999_999_999_999)]
)
def test_ascii_digits_are_read(raw: str, expected: int) -> None:
    assert int_param(raw, "id") == expected


# "²" and "١" (Arabic-Indic one) pass str.isdigit(); int() raises on the first and reads the second.
@pytest.mark.parametrize(
    "raw", ["²", "١", "１", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x1", "abc", "1" * 19, "9" * 5000]
)
def test_anything_else_is_a_bad_request_naming_the_parameter(raw: str) -> None:
    with pytest.raises(BadRequest) as refused:
        int_param(raw, "person_id")
    assert refused.value.field == "person_id"
    assert "person_id" in refused.value.message


def test_bounds_and_defaults() -> None:
    assert int_param(None, "limit", minimum=1, maximum=500, default=50) == 50
    assert int_param("", "limit", minimum=1, maximum=500, default=50) == 50
    for raw in ("0", "501"):
        with pytest.raises(BadRequest, match="limit must be a whole number from 1 to 500"):
            int_param(raw, "limit", minimum=1, maximum=500, default=50)
    with pytest.raises(BadRequest, match="days is required"):
        int_param(None, "days")


def test_text_is_anything_but_a_nul_character() -> None:
    assert text_param(None, "queue") is None and text_param("", "queue") is None
    assert text_param("field-sales ²", "queue") == "field-sales ²"
    with pytest.raises(BadRequest) as refused:
        text_param("a\x00b", "queue")
    assert refused.value.field == "queue"
