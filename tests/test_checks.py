"""The programme compiler's shared checks (domain/programme/checks.py): each names the exact key.

``parse_duration`` is tested with the scoring grid (tests/test_scoring.py); whole programmes'
error places are tested per part (tests/test_scoring.py, tests/test_decisions.py, tests/test_routing.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest

from tracker.domain.programme.checks import (
    ProgrammeError,
    compile_array,
    compile_pattern,
    expect_number,
    expect_table,
    reject_unknown,
)
from tracker.domain.programme.patterns import compile_url, compile_value


def test_a_programme_error_carries_its_place_and_message() -> None:
    error = ProgrammeError("rules[wp-a].points", "unknown token 'wp_d'")
    assert (error.where, error.message) == ("rules[wp-a].points", "unknown token 'wp_d'")
    assert str(error) == "rules[wp-a].points: unknown token 'wp_d'"
    # The CLI and the site loader catch ValueError-shaped problems too.
    assert isinstance(error, ValueError)


def test_compile_pattern_returns_the_matcher() -> None:
    match = compile_pattern(compile_value, ">= 10000", "rules[a].when.props.price")
    assert match(12000) and not match(9000)


@pytest.mark.parametrize(
    ("compile_spec", "spec", "says"),
    [
        (compile_value, "~(", "invalid regular expression '('"),
        (compile_value, [], "an empty list matches nothing"),
        (compile_url, "", "a URL pattern must be a non-empty string"),
    ],
)
def test_compile_pattern_names_the_key_of_a_bad_pattern(compile_spec: Any, spec: Any, says: str) -> None:
    with pytest.raises(ProgrammeError) as caught:
        compile_pattern(compile_spec, spec, "rules[a].when.props.price")
    assert caught.value.where == "rules[a].when.props.price"
    assert caught.value.message.startswith(says)


def test_expect_table() -> None:
    table = {"a": 1}
    assert expect_table(table, "scores.e") is table
    for bad, kind in ((3, "int"), ([{"a": 1}], "list"), ("x", "str"), (None, "NoneType")):
        with pytest.raises(ProgrammeError) as caught:
            expect_table(bad, "scores.e")
        assert (caught.value.where, caught.value.message) == ("scores.e", f"expected a table, got {kind}")


def test_expect_number_accepts_finite_numbers_as_floats() -> None:
    assert expect_number(3, "scores.e.mql") == 3.0
    assert isinstance(expect_number(3, "scores.e.mql"), float)
    assert expect_number(-2.5, "scores.e.mql") == -2.5


@pytest.mark.parametrize("bad", [True, False, "12", None, math.inf, -math.inf, math.nan, [1]])
def test_expect_number_refuses_what_is_not_a_finite_number(bad: Any) -> None:
    with pytest.raises(ProgrammeError) as caught:
        expect_number(bad, "scores.e.mql")
    assert caught.value.where == "scores.e.mql"
    assert caught.value.message.startswith("expected a finite number, got ")


def test_reject_unknown_names_the_first_unknown_key_and_lists_the_allowed_ones() -> None:
    allowed = frozenset({"score", "points", "id"})
    reject_unknown({"id": "a", "points": 1}, allowed, "rules[a]")  # known keys pass
    with pytest.raises(ProgrammeError) as caught:
        reject_unknown({"id": "a", "weight": 2, "colour": "red"}, allowed, "rules[a]")
    assert caught.value.where == "rules[a].weight"
    assert caught.value.message == "unknown key (expected one of id, points, score)"


# ---- arrays of tables -------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    id: str
    index: int


def item(index: int, raw: Any) -> Item:
    return Item(id=expect_table(raw, f"rules[{index}]")["id"], index=index)


def test_compile_array_keeps_programme_order() -> None:
    compiled = compile_array([{"id": "b"}, {"id": "a"}], "rules", item)
    assert compiled == (Item("b", 0), Item("a", 1))


def test_a_missing_array_is_empty() -> None:
    assert compile_array(None, "rules", item) == ()


@pytest.mark.parametrize("raw", [{"id": "a"}, "rules", 3])
def test_compile_array_needs_an_array_of_tables(raw: Any) -> None:
    with pytest.raises(ProgrammeError) as caught:
        compile_array(raw, "campaigns", item)
    assert (caught.value.where, caught.value.message) == ("campaigns", "expected an array of tables ([[campaigns]])")


def test_compile_array_names_a_duplicate_id() -> None:
    with pytest.raises(ProgrammeError) as caught:
        compile_array([{"id": "a"}, {"id": "b"}, {"id": "a"}], "routes", item)
    assert (caught.value.where, caught.value.message) == ("routes[a].id", "duplicate route id")


def test_compile_array_passes_on_the_items_own_errors() -> None:
    with pytest.raises(ProgrammeError) as caught:
        compile_array([{"id": "a"}, 3], "rules", item)
    assert caught.value.where == "rules[1]"
