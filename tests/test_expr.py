from __future__ import annotations

from typing import Any

import pytest

from tracker.domain.programme.expr import MAX_LENGTH, MAX_NODES, ExprError, compile_condition, compile_expr

NAMES = ("engagement", "medical", "general", "visits", "stage", "returning")


def holds(text: str, **env: Any) -> bool:
    return compile_condition(text, NAMES)(env)


def value(text: str, **env: Any) -> Any:
    return compile_expr(text, NAMES)(env)


def rejected(text: str, names: tuple[str, ...] = NAMES) -> str:
    with pytest.raises(ExprError) as info:
        compile_condition(text, names)
    return str(info.value)


# ---------------------------------------------------------------------------
# What is allowed


@pytest.mark.parametrize(
    ("medical", "general", "expected"),
    [(6, 7, True), (7, 5, True), (9, 5, False), (2, 8, False)],
)
def test_seed_003_undecided_interest(medical: float, general: float, expected: bool) -> None:
    condition = compile_condition("engagement >= 12 and abs(medical - general) <= 2", NAMES)
    assert condition({"engagement": 13, "medical": medical, "general": general}) is expected
    assert condition({"engagement": 11, "medical": medical, "general": general}) is False


def test_arithmetic_and_precedence() -> None:
    assert value("engagement + medical * 2 - general / 4", engagement=1, medical=3, general=8) == 5
    assert value("engagement % 5", engagement=13) == 3
    assert value("-engagement + +medical", engagement=2, medical=5) == 3
    assert value("(engagement + 1) * 2", engagement=2) == 6


def test_functions() -> None:
    assert value("abs(medical - general)", medical=2, general=7) == 5
    assert value("min(medical, general, 4)", medical=6, general=5) == 4
    assert value("max(medical, general)", medical=6, general=5) == 6
    assert value("round(engagement / 3)", engagement=10) == 3
    assert value("round(engagement / 3, 2)", engagement=10) == 3.33


def test_boolean_operators_short_circuit_like_python() -> None:
    assert holds("engagement > 1 or medical / 0 > 1", engagement=2)
    assert not holds("engagement > 5 and medical > 1", engagement=2, medical=9)
    assert holds("not engagement > 5", engagement=2)
    assert value("engagement or 7", engagement=0) == 7
    assert value("engagement and 7", engagement=0) == 0


def test_chained_comparison() -> None:
    assert holds("1 <= visits < 3", visits=2)
    assert not holds("1 <= visits < 3", visits=3)
    assert not holds("3 < visits < 1", visits=2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stage in ['mql', 'sql']", True),
        ("stage not in ('mql', 'sql')", False),
        ("visits in [1, -2]", False),
        ("visits in [3, -2]", True),
        ("'q' in stage", True),
        ("stage == 'sql' and returning", True),
        ("stage != 'mql'", True),
        ("returning == True", True),
    ],
)
def test_membership_equality_and_constants(text: str, expected: bool) -> None:
    assert holds(text, stage="sql", visits=3, returning=True) is expected


def test_condition_returns_a_real_bool() -> None:
    assert compile_condition("engagement", NAMES)({"engagement": 4}) is True
    assert compile_condition("engagement", NAMES)({"engagement": 0}) is False


def test_compiled_once_evaluated_many_times() -> None:
    condition = compile_condition("engagement >= 12", NAMES)
    assert [condition({"engagement": n}) for n in (11, 12, 13)] == [False, True, True]


# ---------------------------------------------------------------------------
# What is rejected, and the message names it


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("engagement.real", "attribute access"),
        ("stage[0]", "subscript"),
        ("stage[1:2]", "subscript"),
        ("(lambda: 1)() == 1", "lambda"),
        ("[x for x in stage]", "list comprehension"),
        ("{x for x in stage}", "set comprehension"),
        ("{x: 1 for x in stage}", "dict comprehension"),
        ("max(1, (x for x in stage))", "generator expression"),
        ("any(x for x in stage)", "call to 'any' is not allowed"),
        ("f'{stage}' == 'sql'", "f-string"),
        ("(x := 3) > 1", "assignment expression"),
        ("1 if visits else 2", "conditional expression"),
        ("{'a': 1}", "dict"),
        ("{1, 2}", "set"),
        ("[1, 2]", "list is only allowed on the right of 'in'"),
        ("visits == (1, 2)", "list is only allowed on the right of 'in'"),
        ("visits in [engagement]", "list items must be constants"),
        ("visits in [1 + 1]", "list items must be constants"),
        ("visits in [-stage]", "list items must be constants"),
        ("visits in [not 1]", "list items must be constants"),
        ("visits ** 2", "operator **"),
        ("visits // 2", "operator //"),
        ("visits & 1", "operator &"),
        ("visits | 1", "operator |"),
        ("visits ^ 1", "operator ^"),
        ("visits << 1", "operator <<"),
        ("~visits", "operator ~"),
        ("visits is 1", "operator is"),
        ("visits is not 1", "operator is not"),
        ("visits == None", "constant None"),
        ("visits == b'x'", "constant b'x'"),
        ("visits == 1j", "constant 1j"),
        ("visits == ...", "constant Ellipsis"),
        ("__import__('os')", "call to '__import__' is not allowed"),
        ("__builtins__", "dunder name"),
        ("open('/etc/passwd')", "call to 'open' is not allowed"),
        ("eval('1')", "call to 'eval' is not allowed"),
        ("'x'.upper() == 'X'", "attribute access"),
        ("abs(x=1)", "keyword arguments"),
        ("max(*[1, 2])", "starred expression"),
        ("abs(1, 2)", "abs() called with 2 arguments"),
        ("max(visits)", "max() called with 1 arguments"),
        ("round()", "round() called with 0 arguments"),
        ("abs", "function 'abs' must be called"),
        ("await visits", "await"),
    ],
)
def test_rejected_constructs_are_named(text: str, named: str) -> None:
    assert named in rejected(text)


def test_unknown_name_lists_the_allowed_ones() -> None:
    message = rejected("engagment >= 12", names=("engagement", "visits"))
    assert "unknown name 'engagment'" in message
    assert "allowed names: engagement, visits" in message


def test_unknown_name_with_no_names_allowed() -> None:
    assert "allowed names: (none)" in rejected("x > 1", names=())


@pytest.mark.parametrize("text", ["", "   ", "engagement >=", "engagement = 1", "import os", "1; 2"])
def test_syntax_errors(text: str) -> None:
    with pytest.raises(ExprError):
        compile_condition(text, NAMES)


def test_not_a_string() -> None:
    assert "must be a string" in rejected(12)  # type: ignore[arg-type]


def padded(length: int) -> str:
    return "visits" + " " * (length - len("visits> 1")) + "> 1"


def test_length_cap() -> None:
    assert len(padded(MAX_LENGTH)) == MAX_LENGTH
    assert compile_condition(padded(MAX_LENGTH), NAMES)({"visits": 2}) is True
    assert f"at most {MAX_LENGTH}" in rejected(padded(MAX_LENGTH + 1))


def test_surrounding_whitespace_does_not_count() -> None:
    assert compile_condition(f"  {padded(MAX_LENGTH)}\n", NAMES)({"visits": 2}) is True


def test_node_cap() -> None:
    many = " + ".join(["1"] * (MAX_NODES // 2))
    assert len(many) <= MAX_LENGTH
    assert "too complex" in rejected(many)


def test_error_is_a_value_error() -> None:
    assert issubclass(ExprError, ValueError)


# ---------------------------------------------------------------------------
# Runtime safety: evaluation never raises


@pytest.mark.parametrize(
    "text",
    [
        "engagement / 0 > 1",
        "engagement / 0 < 1",
        "engagement % 0 >= 0",
        "engagement / 0 == engagement / 0",
        "abs(engagement / 0) >= 0",
        "visits in [1, 2] and engagement / 0 != 3",
        "engagement / 0 not in [1, 2]",
    ],
)
def test_division_by_zero_makes_conditions_false(text: str) -> None:
    assert holds(text, engagement=5, visits=1) is False


def test_division_by_zero_value_reads_zero() -> None:
    assert value("engagement / 0", engagement=5) == 0
    assert value("engagement / (visits - 1) + 3", engagement=5, visits=1) == 0
    assert value("engagement / 0.0", engagement=5) == 0


@pytest.mark.parametrize(
    "text",
    [
        "stage > 3",
        "stage < 3",
        "stage == 3",
        "stage != 3",
        "3 in stage",
        "stage in 3",
        "stage - 1 < 100",
        "stage * 3 == 'sqlsqlsql'",
        "-stage == 'x'",
        "abs(stage) >= 0",
        "engagement > 1",
    ],
)
def test_type_mismatch_is_false(text: str) -> None:
    assert holds(text, stage="sql", engagement="lots") is False


def test_missing_value_is_undefined_not_an_error() -> None:
    assert holds("engagement >= 0") is False
    assert holds("engagement not in [1, 2]") is False
    assert holds("not engagement") is True
    assert value("engagement + 1") == 0


def test_overflow_is_undefined() -> None:
    huge = 10**400
    assert value("engagement / 3", engagement=huge) == 0


def test_round_with_absurd_digits_is_undefined() -> None:
    # Python would build 10**1000000000 here; the evaluator refuses instead of hanging.
    assert value("round(engagement, -1000000000)", engagement=5) == 0
    assert value("round(engagement, 1.5)", engagement=5) == 0
