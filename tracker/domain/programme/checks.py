"""Checks shared by every part of the programme compiler (scoring rules, campaigns).

Each raises ``ProgrammeError`` naming the exact place (``rules[wp-a].when.props.price``) so
``tracker programme check`` can point the marketer at the key to fix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from tracker.domain.programme.patterns import Matcher, PatternError

_UNITS: Mapping[str, float] = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*")


def parse_duration(text: str, where: str) -> float:
    """``"30d"`` -> seconds.  Units: s, m, h, d, w.  Raises ProgrammeError(where, ...) if bad."""
    # Callers pass raw TOML values, which may not be strings at all.
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ProgrammeError(where, f"expected a duration like '30d', '12h', '90m', '45s' or '2w', got {text!r}")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ProgrammeError(where, "a duration must be longer than zero")
    return seconds


def compile_pattern(compile_spec: Callable[[Any], Matcher], spec: Any, where: str) -> Matcher:
    try:
        return compile_spec(spec)
    except PatternError as exc:
        raise ProgrammeError(where, str(exc)) from None


def expect_table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProgrammeError(where, f"expected a table, got {type(value).__name__}")
    return value


def expect_number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProgrammeError(where, f"expected a finite number, got {value!r}")
    return float(value)


def reject_unknown(table: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ProgrammeError(f"{where}.{key}", f"unknown key (expected one of {', '.join(sorted(allowed))})")


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


Item = TypeVar("Item", bound=_HasId)


def compile_array(raw: Any, key: str, compile_one: Callable[[int, Any], Item]) -> tuple[Item, ...]:
    """An optional ``[[key]]`` array of tables, each compiled by ``compile_one``, ids unique."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ProgrammeError(key, f"expected an array of tables ([[{key}]])")
    compiled: list[Item] = []
    for index, item in enumerate(raw):
        one = compile_one(index, item)
        if any(seen.id == one.id for seen in compiled):
            raise ProgrammeError(f"{key}[{one.id}].id", f"duplicate {key.rstrip('s')} id")
        compiled.append(one)
    return tuple(compiled)


class ProgrammeError(ValueError):
    """A scoring programme that cannot be loaded.

    ``where`` names the place, e.g. ``rules[wp-a].points`` or ``campaigns[undecided].when.condition``,
    so ``tracker programme check`` can point the marketer at the exact key.
    """

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message
