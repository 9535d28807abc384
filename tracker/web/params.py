"""Parameters of every route (path segments, query strings): one parser per type, one way to refuse.

Integers: only ASCII digits count (``"²".isdigit()`` is true yet ``int("²")`` raises, and ``int``
reads Arabic-Indic or full-width digits that no client means as a number), at most 18 of them,
so a value always fits the databases' signed 64-bit integers.  Text: never a NUL character,
which PostgreSQL refuses even to compare with.
"""

from __future__ import annotations

import math

from tracker.errors import BadRequest

MAX_DIGITS = 18
MAX_VALUE = 10**MAX_DIGITS - 1


def int_param(
    raw: str | None, field: str, *, minimum: int = 0, maximum: int = MAX_VALUE, default: int | None = None
) -> int:
    """``raw`` as a whole number from ``minimum`` to ``maximum``, else ``BadRequest`` naming ``field``.

    An absent or empty parameter is ``default``, and required when there is none.
    """
    if raw is None or raw == "":
        if default is None:
            raise BadRequest(f"{field} is required", field=field)
        return default
    if raw.isascii() and raw.isdigit() and len(raw) <= MAX_DIGITS and minimum <= int(raw) <= maximum:
        return int(raw)
    raise BadRequest(f"{field} must be a whole number from {minimum} to {maximum}", field=field)


def text_param(raw: str | None, field: str) -> str | None:
    """``raw``, None when absent or empty; ``BadRequest`` naming ``field`` if it holds a NUL character."""
    if not raw:
        return None
    if "\x00" in raw:
        raise BadRequest(f"{field} contains a NUL character", field=field)
    return raw


def number_param(raw: str | None, field: str) -> float | None:
    """``raw`` as a finite number, None when absent or empty; ``BadRequest`` naming ``field`` otherwise."""
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{field} must be a number", field=field) from None
    if not math.isfinite(value):
        raise BadRequest(f"{field} must be a finite number", field=field)
    return value
