"""The marketer's matchers (domain/programme/patterns.py): values, URLs, and what refuses to compile.

Scoring rules and campaign targeting use these through the programme (tests/test_scoring.py,
tests/test_decisions.py); here each form of the vocabulary is pinned on its own.
"""

from __future__ import annotations

from typing import Any

import pytest

from tracker.domain.programme.patterns import (
    PatternError,
    as_number,
    compile_url,
    compile_url_regex,
    compile_value,
    url_path,
)

# ---- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "accepted", "refused"),
    [
        # Numbers compare numerically, whatever the JSON type the beacon used.
        (2, [2, 2.0, "2", " 2.0 "], [3, "2x", None, True]),
        (2.5, ["2.50", 2.5], [2, "2,5"]),
        # Booleans match booleans and their spelling, never the numbers 1 and 0.
        (True, [True, "true", "TRUE"], [False, 1, "yes", None]),
        (False, [False, "false"], [True, 0, None]),
        # Comparisons: numeric when the operand is a number.
        (">= 10000", [10000, 24900, "12000", 1e5], [9999.99, "abc", None, True]),
        ("< 500", [450, "-1", 499.9], [500, "500", "cheap"]),
        ("> 0", [0.01], [0, -3]),
        ("<= 3", [3, "3.0"], [3.01]),
        # ... and case-insensitive text otherwise; "=" and "==" both mean equality.
        ("= pro", ["pro", "PRO"], ["pro plus", None]),
        ("== Medical", ["medical"], ["general"]),
        ("!= pro", ["free", "", None], ["pro", "Pro"]),
        # != against a number: a value that is no number at all is different from it.
        ("!= 3", [4, "three", None], [3, "3"]),
        # ~ is a case-insensitive regular-expression search, anywhere in the text.
        ("~achat|purchasing", ["Responsable achats", "Head of PURCHASING"], ["Technicien", None]),
        ("~^dr ", ["Dr Martin"], ["Martin, dr "]),
        # Anything else is a case-insensitive wildcard over the whole value.
        ("cta-*", ["CTA-hero", "cta-"], ["menu-cta-hero", None]),
        ("v?", ["v2", "V9"], ["v", "v10"]),
        ("medical", ["Medical"], ["medical line"]),
        # A list is any of its items, each in its own form.
        (["pro", ">= 100"], ["PRO", 150], ["free", 99]),
        ([1, True], [1, "true"], [0, False]),
    ],
)
def test_value_specs(spec: Any, accepted: list[Any], refused: list[Any]) -> None:
    match = compile_value(spec)
    assert [value for value in accepted if not match(value)] == []
    assert [value for value in refused if match(value)] == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("~(", "invalid regular expression '('"),
        ([], "an empty list matches nothing"),
        (["ok", "~[a-"], "invalid regular expression '[a-'"),
        ({"a": 1}, "expected a string, number, boolean or list, got dict"),
        (None, "expected a string, number, boolean or list, got NoneType"),
    ],
)
def test_value_specs_that_cannot_compile(spec: Any, message: str) -> None:
    with pytest.raises(PatternError) as caught:
        compile_value(spec)
    assert str(caught.value).startswith(message)


# ---- URLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "accepted", "refused"),
    [
        # A leading / matches the path only: scheme, host, query and fragment do not count.
        (
            "/demo/tarifs*",
            ["https://shop.fr/demo/tarifs", "http://x.fr/DEMO/Tarifs?plan=pro#prix", "/demo/tarifs-2026"],
            ["https://shop.fr/fr/demo/tarifs", "https://shop.fr/?next=/demo/tarifs", None, ""],
        ),
        # "?*" is "at least one character": the articles, not the list page.
        ("/demo/blog/qualite/?*", ["https://x.fr/demo/blog/qualite/a"], ["https://x.fr/demo/blog/qualite/"]),
        # Any other wildcard matches the whole URL, query string included.
        (
            "*/livre-blanc-a*",
            ["https://shop.fr/files/livre-blanc-a.pdf", "https://shop.fr/x?f=/livre-blanc-a"],
            ["https://shop.fr/files/livre-blanc-b.pdf", None],
        ),
        ("https://shop.fr/*", ["HTTPS://SHOP.FR/demo"], ["https://shop.fr.evil.example/"]),
        # ~ searches the full URL.
        ("~utm_source=salon", ["https://x.fr/?utm_source=salon&a=1"], ["https://x.fr/salon", None]),
        (["/tarifs", "/contact*"], ["https://x.fr/tarifs", "https://x.fr/contact/form"], ["https://x.fr/tarifs/pro"]),
    ],
)
def test_url_specs(spec: Any, accepted: list[str | None], refused: list[str | None]) -> None:
    match = compile_url(spec)
    assert [url for url in accepted if not match(url)] == []
    assert [url for url in refused if match(url)] == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "a URL pattern must be a non-empty string"),
        (3, "a URL pattern must be a non-empty string"),
        ([], "an empty list matches nothing"),
        (["/ok", ""], "a URL pattern must be a non-empty string"),
        ("~(", "invalid regular expression '('"),
    ],
)
def test_url_specs_that_cannot_compile(spec: Any, message: str) -> None:
    with pytest.raises(PatternError) as caught:
        compile_url(spec)
    assert str(caught.value).startswith(message)


def test_url_regex_searches_the_whole_url_case_insensitively() -> None:
    match = compile_url_regex(r"/produits/(general|medical)/")
    assert match("https://x.fr/demo/Produits/MEDICAL/m2")
    assert not match("https://x.fr/demo/produits/")
    assert not match(None)
    with pytest.raises(PatternError):
        compile_url_regex("(")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://shop.fr/demo/tarifs?plan=pro#prix", "/demo/tarifs"),
        ("https://shop.fr", "/"),
        ("/relative/page?x=1#top", "/relative/page"),
        ("", "/"),
        # An unparseable URL has no path: it matches no path pattern rather than raising.
        ("http://[::1", ""),
    ],
)
def test_url_path(url: str, path: str) -> None:
    assert url_path(url) == path


@pytest.mark.parametrize(
    ("value", "number"),
    [(3, 3.0), (2.5, 2.5), (" 12000 ", 12000.0), ("-1e3", -1000.0), ("12 000", None), ("", None)],
)
def test_as_number(value: Any, number: float | None) -> None:
    assert as_number(value) == number


@pytest.mark.parametrize("value", [True, False, None, [1], {"a": 1}])
def test_as_number_refuses_what_is_not_a_number(value: Any) -> None:
    # True would otherwise pass for 1 in "points >= 1".
    assert as_number(value) is None
