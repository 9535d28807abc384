"""The console's languages: catalogs, the language of a request, dates and numbers in its locale.

Strings are marked in templates with ``{{ _("…") }}`` / ``{% trans %}`` and in Python with
``gettext``; their French lives in ``locales/fr/*.po`` (one catalog per console area, merged
here), read with Babel when first needed: no compile step, nothing to build at run time.
English is the source language, so it needs no catalog.

The language is the user's own setting, else the browser's Accept-Language, else English.
Times are shown in the user's time zone (UTC until they choose one).
"""

from __future__ import annotations

import gettext as gettext_module
from datetime import UTC, datetime, tzinfo
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
CATALOGS = Path(__file__).resolve().parent / "locales"


@cache
def translations(language: str) -> gettext_module.NullTranslations:
    """Every catalog of ``language`` merged into one; English (the source) translates to itself."""
    merged: Translations | None = None
    for path in sorted((CATALOGS / language).glob("*.po")) if language != DEFAULT_LANGUAGE else []:
        with path.open("rb") as source:
            catalog = read_po(source, locale=language)
        compiled = BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        loaded = Translations(compiled)
        merged = loaded if merged is None else merged.merge(loaded)
    return merged if merged is not None else NullTranslations()


def N_(message: str) -> str:
    """Mark a message kept in a constant for translation; ``gettext`` translates it where it is shown."""
    return message


def gettext(language: str, message: str, **values: object) -> str:
    """``message`` in ``language``, with ``%(name)s`` placeholders filled from ``values``."""
    text = translations(language).gettext(message)
    return text % values if values else text


def accepted_languages(header: str) -> list[str]:
    """The primary language tags of an Accept-Language header, most wanted first."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(ranked)]


def language_of(chosen: str | None, accept_language: str) -> str:
    if chosen in LANGUAGES:
        return chosen
    for tag in accepted_languages(accept_language):
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE


def zone(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def moment(ts: float, language: str, tz: tzinfo) -> str:
    """A point in time as people read it: "3 nov. 10:42" in French, "Nov 3 10:42" in English."""
    when = datetime.fromtimestamp(ts, tz)
    return f"{_month_day(language, when.month, when.day)} {_hour_minute(language, when.hour, when.minute)}"


# A lead page shows a moment for each of up to 2,000 events, and Babel took 54 µs for one (a fifth of
# the page).  Each half depends on two fields only, as its skeleton says, so each is formatted once per
# language and value: a leap year's date holds every month and day.
@cache
def _month_day(language: str, month: int, day: int) -> str:
    return format_skeleton("MMMd", datetime(2000, month, day), locale=language)


@cache
def _hour_minute(language: str, hour: int, minute: int) -> str:
    return format_skeleton("Hm", datetime(2000, 1, 1, hour, minute), locale=language)


def moment_full(ts: float, language: str, tz: tzinfo) -> str:
    return format_datetime(datetime.fromtimestamp(ts, tz), "medium", tzinfo=tz, locale=language)


def day(ts: float, language: str, tz: tzinfo) -> str:
    return format_date(datetime.fromtimestamp(ts, tz).date(), "medium", locale=language)


# Babel takes some 20 µs a number, and a lead page shows hundreds of scores that repeat (10, 12, 15…).
@lru_cache(maxsize=4096, typed=True)
def number(value: float, language: str) -> str:
    return format_decimal(value, locale=language)
