"""Value and URL matchers compiled once from the programme's TOML.

The marketer's vocabulary, shared by scoring rules and campaign targeting:

* ``2``, ``true``            equality (numbers compare numerically)
* ``">= 10000"``, ``"< 500"``, ``"!= pro"``   comparisons (numeric when both sides are)
* ``"~achat|purchasing"``    case-insensitive regular-expression search
* ``"*/livre-blanc-a*"``     case-insensitive wildcard (``*`` and ``?``)
* ``["a", "b"]``             any of

URL patterns that start with ``/`` match the URL's path; others match the whole URL.
"""

from __future__ import annotations

import fnmatch
import operator
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

Matcher = Callable[[Any], bool]

_COMPARISON = re.compile(r"^\s*(>=|<=|!=|==|=|>|<)\s*(.*?)\s*$", re.S)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "!=": operator.ne,
    "==": operator.eq,
    "=": operator.eq,
}


class PatternError(ValueError):
    """A pattern in the programme cannot be compiled; the message says why."""


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def compile_regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.I)
    except re.error as exc:
        raise PatternError(f"invalid regular expression {pattern!r}: {exc}") from None


def compile_glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.I | re.S)


def compile_comparison(op: str, operand: str) -> Matcher:
    compare = _OPS[op]
    number = as_number(operand)

    def match(value: Any) -> bool:
        if number is not None:
            actual = as_number(value)
            if actual is None:
                return op == "!="
            return compare(actual, number)
        return compare(_text(value).casefold(), operand.casefold())

    return match


def compile_value(spec: Any) -> Matcher:
    """Compile one value spec (see module docstring) into a predicate."""
    if isinstance(spec, list):
        return _any_of(spec, compile_value)
    if isinstance(spec, bool):
        return lambda value: value is spec or _text(value).lower() == str(spec).lower()
    if isinstance(spec, (int, float)):
        return compile_comparison("=", str(spec))
    if not isinstance(spec, str):
        raise PatternError(f"expected a string, number, boolean or list, got {type(spec).__name__}")
    if spec.startswith("~"):
        regex = compile_regex(spec[1:])
        return lambda value: value is not None and regex.search(_text(value)) is not None
    comparison = _COMPARISON.match(spec)
    if comparison:
        return compile_comparison(comparison.group(1), comparison.group(2))
    glob = compile_glob(spec)
    return lambda value: value is not None and glob.match(_text(value)) is not None


def compile_url(spec: Any) -> Matcher:
    """Compile a URL pattern: ``/path/*`` matches the path, anything else the full URL."""
    if isinstance(spec, list):
        return _any_of(spec, compile_url)
    if not isinstance(spec, str) or not spec:
        raise PatternError("a URL pattern must be a non-empty string")
    if spec.startswith("~"):
        regex = compile_regex(spec[1:])
        return lambda url: regex.search(url or "") is not None
    glob = compile_glob(spec)
    if spec.startswith("/"):
        return lambda url: glob.match(url_path(url or "")) is not None
    return lambda url: glob.match(url or "") is not None


def compile_url_regex(pattern: str) -> Matcher:
    regex = compile_regex(pattern)
    return lambda url: regex.search(url or "") is not None


def _any_of(specs: list[Any], compile_one: Callable[[Any], Matcher]) -> Matcher:
    if not specs:
        raise PatternError("an empty list matches nothing")
    parts = [compile_one(item) for item in specs]
    return lambda value: any(part(value) for part in parts)


# A site has few distinct pages and every path-pattern rule asks for the path of the same
# URL: parsing each once is a fifth of a replay's time.  Bounded, so any URL can come by.
@lru_cache(maxsize=4096)
def url_path(url: str) -> str:
    if url.startswith("/"):
        return url.split("?", 1)[0].split("#", 1)[0]
    try:
        return urlsplit(url).path or "/"
    except ValueError:
        return ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
