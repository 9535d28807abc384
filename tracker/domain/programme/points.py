"""The syntax of a rule's points and limit: ``"=10"``, ``"-token"``, ``"3/1d"``.

Shared by the scoring rules and the scores' ``on_outcome`` (see ``scoring``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker.domain.programme.checks import ProgrammeError, expect_number, parse_duration
from tracker.domain.programme.patterns import as_number

# A cap keeps one timestamp per allowed hit in the person's state; beyond this the
# state would grow large for no scoring benefit ("always" is the right choice then).
MAX_LIMIT_COUNT = 1000

_LIMIT = re.compile(r"\s*(\d+)\s*(?:/(.*))?")
_POINTS = re.compile(r"\s*([=+-]?)\s*(\S+)\s*")


@dataclass(frozen=True, slots=True)
class Limit:
    count: int | None  # None: always
    window: float | None  # None: ever; else a rolling window in seconds


def compile_points(spec: Any, tokens: Mapping[str, float], where: str) -> tuple[str, float]:
    """``2``, ``"token"``, ``"+10"``, ``"-10"``, ``"-token"``, ``"=10"``, ``"=token"`` -> (op, points)."""
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return "add", expect_number(spec, where)
    match = _POINTS.fullmatch(spec) if isinstance(spec, str) else None
    if match is None:
        raise ProgrammeError(where, "expected a number, a token name, '+N', '-N', '=N' or '=token'")
    sign, operand = match.groups()
    value = as_number(operand)
    if value is None:
        if operand not in tokens:
            raise ProgrammeError(where, f"unknown token {operand!r}")
        value = tokens[operand]
    elif not math.isfinite(value):
        raise ProgrammeError(where, "points must be a finite number")
    if sign == "=":
        return "set", value
    return "add", -value if sign == "-" else value


def compile_limit(spec: Any, where: str) -> Limit:
    """``"once"``, ``"always"``, ``"N"`` (ever) or ``"N/<duration>"`` (rolling window)."""
    if spec == "once":
        return Limit(count=1, window=None)
    if spec == "always":
        return Limit(count=None, window=None)
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = str(spec)
    match = _LIMIT.fullmatch(spec) if isinstance(spec, str) else None
    if match is None:
        raise ProgrammeError(where, "expected 'once', 'always', 'N' (at most N times) or 'N/<duration>' like '3/1d'")
    count = int(match.group(1))
    if not 1 <= count <= MAX_LIMIT_COUNT:
        raise ProgrammeError(where, f"the count must be between 1 and {MAX_LIMIT_COUNT} (or use 'always')")
    window = None if match.group(2) is None else parse_duration(match.group(2), where)
    return Limit(count=count, window=window)
