"""A rule's ``when``: its conditions on an event, compiled once into plain closures.

Rules (``scoring``) and lead routes (``routing``) share these conditions.  Scoring takes
them in three parts (``WhenParts``) so that it can answer the URL conditions once per page
(``Scoring.offered``) and leave out the type check its candidates already made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tracker.domain.facts import RULE_EVENT_TYPES, Event
from tracker.domain.programme.checks import ProgrammeError, compile_pattern, expect_table, reject_unknown
from tracker.domain.programme.patterns import Matcher, PatternError, compile_url, compile_url_regex, compile_value

_WHEN_KEYS = frozenset({"type", "name", "form", "url", "url_regex", "referrer", "props", "fields", "engaged", "visit"})
# Conditions that only make sense for one event type; they imply that type.
_IMPLIED_TYPE: Mapping[str, str] = {"form": "form", "fields": "form", "engaged": "engaged"}


def _regex_spec(spec: Any) -> Matcher:
    if not isinstance(spec, str) or not spec:
        raise PatternError("a regular expression must be a non-empty string")
    return compile_url_regex(spec)


# Single-value conditions: how to compile the spec, and the check reading its part of the event.
# Each check reads the event itself rather than through a reader function: replay runs
# these hundreds of thousands of times a second, and one call less per rule shows.
_FIELD_CONDITIONS: Mapping[str, tuple[Callable[[Any], Matcher], Callable[[Matcher], Callable[[Event], bool]]]] = {
    "name": (compile_value, lambda match: lambda e: match(e.name)),
    "form": (compile_value, lambda match: lambda e: match(e.name)),
    "url": (compile_url, lambda match: lambda e: match(e.url)),
    "url_regex": (_regex_spec, lambda match: lambda e: match(e.url)),
    "referrer": (compile_url, lambda match: lambda e: match(e.referrer)),
    "engaged": (compile_value, lambda match: lambda e: match(e.props.get("seconds"))),
    "visit": (compile_value, lambda match: lambda e: match(e.visit)),
}


def compile_when(spec: Any, where: str) -> tuple[Callable[[Event], bool], frozenset[str] | None]:
    """The condition's predicate, and the event types it can match (None: any)."""
    when = compile_when_parts(spec, where)
    return when.matches(), when.candidates


@dataclass(frozen=True, slots=True)
class WhenParts:
    """A ``when`` table's checks in three groups, so that scoring can take each where it is cheapest."""

    types_check: Callable[[Event], bool] | None  # the built-in types and custom names
    url: Matcher | None  # every condition on the URL, applied to the URL itself
    other_checks: list[Callable[[Event], bool]]
    candidates: frozenset[str] | None
    custom_names: bool  # whether the types check names custom events (their names need checking)

    def matches(self) -> Callable[[Event], bool]:
        """The whole condition (never empty: every key of a non-empty ``when`` table adds a check)."""
        url = self.url
        url_check = [] if url is None else [lambda event: url(event.url)]
        return every([*self.type_checks(), *url_check, *self.other_checks])

    def rest(self) -> Callable[[Event], bool] | None:
        """What is left for an event ``Scoring.offered``: of one of ``candidates``, its URL already
        checked, so only custom names and the other conditions (None: nothing left)."""
        checks = [*self.type_checks(), *self.other_checks] if self.custom_names else self.other_checks
        return every(checks) if checks else None

    def type_checks(self) -> list[Callable[[Event], bool]]:
        return [] if self.types_check is None else [self.types_check]


# Conditions read only from the URL (``Scoring.offered`` answers them once per page).
_URL_CONDITIONS = frozenset({"url", "url_regex"})


def compile_when_parts(spec: Any, where: str) -> WhenParts:
    table = expect_table(spec, where)
    if not table:
        raise ProgrammeError(where, "needs at least one condition")
    reject_unknown(table, _WHEN_KEYS, where)
    other_checks: list[Callable[[Event], bool]] = []
    url_matchers: list[Matcher] = []
    types = _compile_types(table, where)
    for key, (compile_spec, check) in _FIELD_CONDITIONS.items():
        if key in table:
            match = compile_pattern(compile_spec, table[key], f"{where}.{key}")
            if key in _URL_CONDITIONS:
                url_matchers.append(match)
            else:
                other_checks.append(check(match))
    for key in ("props", "fields"):
        if key in table:
            other_checks.append(_props_check(_compile_props(table[key], f"{where}.{key}")))
    candidates = None if types is None else types[0] | ({"custom"} if types[1] else set())
    url = _all_of(url_matchers) if url_matchers else None
    types_check = None if types is None else _types_check(*types)
    return WhenParts(types_check, url, other_checks, candidates, types is not None and bool(types[1]))


def _types_check(builtin: frozenset[str], custom: frozenset[str]) -> Callable[[Event], bool]:
    return lambda event: event.type in builtin or (event.type == "custom" and event.name in custom)


def _all_of(matchers: list[Matcher]) -> Matcher:
    first = matchers[0]
    if len(matchers) == 1:
        return first
    rest = _all_of(matchers[1:])
    return lambda value: first(value) and rest(value)


def every(checks: list[Callable[[Event], bool]]) -> Callable[[Event], bool]:
    """``all(check(e) for check in checks)`` as a chain of closures: no generator per event."""
    first = checks[0]
    if len(checks) == 1:
        return first
    rest = every(checks[1:])
    return lambda event: first(event) and rest(event)


def _compile_types(table: Mapping[str, Any], where: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """The event-type condition, from ``type`` and from keys that imply a type: built-in types, custom names.

    A ``type`` that is not a built-in event type names a custom event: the beacon sends
    those as type "custom" with the name in ``event.name``.
    """
    implied = {key: _IMPLIED_TYPE[key] for key in table if key in _IMPLIED_TYPE}
    if len(set(implied.values())) > 1:
        raise ProgrammeError(where, f"{' and '.join(implied)} can never hold for the same event")
    if "type" not in table:
        if not implied:
            return None
        builtin, custom = frozenset(implied.values()), frozenset[str]()
    else:
        names = table["type"] if isinstance(table["type"], list) else [table["type"]]
        if not names or not all(isinstance(name, str) and name for name in names):
            raise ProgrammeError(f"{where}.type", "expected an event type or a list of event types")
        builtin = frozenset(name for name in names if name in RULE_EVENT_TYPES)
        custom = frozenset(name for name in names if name not in RULE_EVENT_TYPES)
        for key, implied_type in implied.items():
            if implied_type not in builtin:
                raise ProgrammeError(f"{where}.type", f"{key} only matches {implied_type!r} events")
    return builtin, custom


def _props_check(match: Callable[[Mapping[str, Any]], bool]) -> Callable[[Event], bool]:
    return lambda event: match(event.props)


def _compile_props(spec: Any, where: str) -> Callable[[Mapping[str, Any]], bool]:
    table = expect_table(spec, where)
    if not table:
        raise ProgrammeError(where, "needs at least one property")
    parts = [
        (key, compile_pattern(compile_value, value, f"{where}.{key}"), _accepts_missing(value))
        for key, value in table.items()
    ]
    if len(parts) == 1:  # the usual case, without a generator per event
        [(key, match, if_missing)] = parts
        return lambda props: match(props[key]) if key in props else if_missing
    return lambda props: all(match(props[key]) if key in props else if_missing for key, match, if_missing in parts)


def _accepts_missing(spec: Any) -> bool:
    """A missing property matches nothing except a "!=" condition (it is indeed different)."""
    if isinstance(spec, list):
        return any(_accepts_missing(item) for item in spec)
    return isinstance(spec, str) and spec.lstrip().startswith("!=")
