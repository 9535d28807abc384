"""The console's languages (tracker.web.admin.i18n): every string marked in a template or in the
console's Python has its French, with the same placeholders; the language of a request; dates
and numbers in the reader's locale."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.dates import format_skeleton
from babel.messages.extract import extract
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from tracker.web.admin import i18n

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates" / "admin"
CONSOLE_CODE = ROOT / "tracker" / "web" / "admin"
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "1", "lstrip_blocks": "1"}
# gettext(language, message) and N_(message) (a message kept in a constant, translated where shown).
PYTHON_KEYWORDS = {"gettext": (2,), "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def marked_strings() -> Iterator[tuple[str, str]]:
    """(where, message) for every string the console marks for translation."""
    for path in sorted(TEMPLATES.glob("*.html")):
        with path.open("rb") as source:
            for line, _, message, _ in babel_extract(source, ("_", "gettext", "ngettext"), [], JINJA_OPTIONS):
                text = message[0] if isinstance(message, tuple) else message
                if text is not None:  # a variable: its values are marked where they are written (N_)
                    yield f"{path.name}:{line}", text
    for path in sorted(CONSOLE_CODE.glob("*.py")):
        with path.open("rb") as source:
            for line, message, _, _ in extract("python", source, keywords=PYTHON_KEYWORDS):
                text = message[0] if isinstance(message, tuple) else message
                if text is not None:  # a variable: its values are marked where they are written (N_)
                    yield f"{path.name}:{line}", text


def french() -> dict[str, str]:
    catalog: dict[str, str] = {}
    for path in sorted((i18n.CATALOGS / "fr").glob("*.po")):
        with path.open("rb") as source:
            for message in read_po(source, locale="fr"):
                if message.id and message.string:
                    catalog[str(message.id)] = str(message.string)
    return catalog


def test_every_marked_string_has_its_french_with_the_same_placeholders() -> None:
    catalog = french()
    found = list(marked_strings())
    assert len(found) > 30, "the extraction found almost nothing: is it still looking in the right places?"
    missing = sorted({f"{where}: {text!r}" for where, text in found if text not in catalog})
    assert not missing, "no French for:\n" + "\n".join(missing)
    wrong = [text for _, text in found if set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(catalog[text]))]
    assert not wrong, f"placeholders differ in French: {wrong}"


def test_each_message_has_its_french_in_one_catalog_only() -> None:
    # The catalogs are merged: a message in two of them could say two things, whichever came last.
    owners: dict[str, list[str]] = {}
    for path in sorted((i18n.CATALOGS / "fr").glob("*.po")):
        with path.open("rb") as source:
            for message in read_po(source, locale="fr"):
                if message.id:
                    owners.setdefault(str(message.id), []).append(path.name)
    twice = {msgid: found for msgid, found in owners.items() if len(found) > 1}
    assert not twice, twice


def test_catalogs_load_and_translate() -> None:
    assert i18n.gettext("fr", "Sign out") == "Se déconnecter"
    assert i18n.gettext("en", "Sign out") == "Sign out"
    throttled = "Too many sign-in attempts. Try again in %(seconds)s seconds."
    assert "12 secondes" in i18n.gettext("fr", throttled, seconds=12)


@pytest.mark.parametrize(
    ("chosen", "header", "language"),
    [
        (None, "fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        (None, "de-DE,de;q=0.9,en;q=0.5,fr;q=0.7", "fr"),  # German is not spoken: the next best
        (None, "en;q=0.1,fr;q=0", "en"),  # q=0 means "not French"
        (None, "", "en"),
        (None, "fr;q=nonsense,en", "en"),
        ("en", "fr", "en"),  # the user's own choice wins
        ("xx", "fr", "fr"),  # a setting the console does not speak is ignored
    ],
)
def test_language_of_a_request(chosen: str | None, header: str, language: str) -> None:
    assert i18n.language_of(chosen, header) == language


def test_dates_and_numbers_in_the_readers_locale() -> None:
    ts = datetime(2026, 11, 3, 10, 42, tzinfo=UTC).timestamp()
    assert i18n.moment(ts, "fr", UTC) == "3 nov. 10:42"
    assert i18n.moment(ts, "en", UTC) == "Nov 3 10:42"
    assert i18n.moment(ts, "fr", i18n.zone("Europe/Paris")) == "3 nov. 11:42"
    assert i18n.number(12345.5, "fr") == "12\u202f345,5"
    assert i18n.number(12345.5, "en") == "12,345.5"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_moment_reads_as_babel_formats_it_in_every_zone(language: str) -> None:
    """``moment`` formats each half once per value (a cache): it must say what Babel says of the moment itself."""
    rng = random.Random(13)
    zones = [UTC, *(i18n.zone(name) for name in ("Europe/Paris", "America/St_Johns", "Asia/Kathmandu"))]
    # A leap day, the turns of DST in Paris, midnight and a year's last minute, then random moments.
    fixed = [datetime(2028, 2, 29, 23, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]
    fixed += [datetime(2026, 10, 25, 1, 0, tzinfo=UTC), datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)]
    moments = [moment.timestamp() for moment in fixed] + [rng.uniform(0, 2e9) for _ in range(500)]
    for tz in zones:
        for ts in moments:
            when = datetime.fromtimestamp(ts, tz)
            said = f"{format_skeleton('MMMd', when, locale=language)} {format_skeleton('Hm', when, locale=language)}"
            assert i18n.moment(ts, language, tz) == said, (when, tz)


def test_an_unknown_time_zone_falls_back_to_utc() -> None:
    assert i18n.zone("Mars/Olympus") is UTC
    assert i18n.zone(None) is UTC


# Words shown as they are in every language.
UNTRANSLATED = {"tracker", "UTC", "URL"}
JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
ATTRIBUTE = re.compile(r'\s[\w-]+="[^"<>]*"')  # attributes a macro writes between tags
TAG = re.compile(r"<[^>]*>", re.S)
NOT_YET: set[str] = set()  # converted by the pages' own work


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_templates_show_no_text_outside_the_catalog(path: Path) -> None:
    if path.name in NOT_YET:
        pytest.skip("converted with its page")
    text = ATTRIBUTE.sub(" ", TAG.sub(" ", JINJA.sub(" ", path.read_text(encoding="utf-8"))))
    words = {word for word in re.findall(r"[^\W\d_]{2,}", text)} - UNTRANSLATED
    assert not words, f"{path.name} shows text that is not marked for translation: {sorted(words)}"
