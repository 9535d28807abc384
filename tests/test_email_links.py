"""Signed e-mail link tokens and the URLs they may lead to (tracker.domain.email_links)."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeSerializer

from tracker.domain.email_links import (
    LINK_SECONDS,
    Checked,
    EmailLinks,
    Link,
    LinkError,
    campaign_name,
    click_url,
    open_url,
    safe_target,
)

from .conftest import START

LINKS = EmailLinks("secret")
LINK = Link(3, 1234, "newsletter-nov", START, "https://www.acme.fr/blog/imprimantes?utm_source=newsletter")


def test_a_click_token_round_trips_until_it_expires() -> None:
    token = LINKS.click_token(LINK)
    assert LINKS.click(token, START) == Checked(LINK, 3)
    assert LINKS.click(token, START + LINK_SECONDS - 1) == Checked(LINK, 3)
    assert LINKS.click(token, START + LINK_SECONDS) == Checked(None, 3)
    assert LINKS.click(token, START - 60) == Checked(None, 3)  # minted in the future: not by us


def test_an_open_token_names_no_url_and_is_no_click_token() -> None:
    token = LINKS.open_token(LINK)
    assert LINKS.open(token, START + 5) == Checked(Link(3, 1234, "newsletter-nov", START), 3)
    assert LINKS.click(token, START + 5).link is None
    assert LINKS.open(LINKS.click_token(LINK), START + 5).link is None


def test_tokens_are_compact_and_url_safe() -> None:
    token = LINKS.click_token(LINK)
    # The URL and the campaign in base64, the ids, the time and a 16-character signature.
    assert len(token) <= (len(LINK.url) + len(LINK.campaign)) * 4 / 3 + 56
    assert all(c.isalnum() or c in "-_." for c in token)
    assert click_url("https://t.acme.fr/", token) == f"https://t.acme.fr/r/{token}"
    assert open_url("https://t.acme.fr", "x") == "https://t.acme.fr/o/x.gif"


def test_an_altered_token_is_refused_but_still_names_its_site() -> None:
    token = LINKS.click_token(LINK)
    payload, _, signature = token.rpartition(".")
    assert LINKS.click(payload + "." + signature[::-1], START) == Checked(None, 3)
    assert EmailLinks("other secret").click(token, START) == Checked(None, 3)
    assert LINKS.click("", START) == Checked(None)
    assert LINKS.click("a.b.c", START) == Checked(None)
    assert LINKS.click("x" * 5000, START) == Checked(None)


def test_tokens_are_what_itsdangerous_signs_and_a_compressed_forgery_is_not_inflated() -> None:
    long_link = Link(3, 1, "c", START, "https://www.acme.fr/" + "a" * 1500)
    token = LINKS.click_token(long_link)
    assert not token.startswith(".")  # never compressed: the claimed site of an altered token stays readable
    assert LINKS.click(token, START) == Checked(long_link, 3)
    forger = URLSafeSerializer("other secret", salt="tracker.email-click")
    forged = forger.dumps([3, 1, "c", long_link.url, int(START)])
    assert forged.startswith(".")  # zlib made it shorter: it is not inflated unsigned
    assert LINKS.click(forged, START) == Checked(None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.acme.fr/x?a=1#b", "https://www.acme.fr/x?a=1#b"),
        ("  HTTP://WWW.Acme.FR:8080/Path  ", "http://www.acme.fr:8080/Path"),
        ("https://exämple.fr/société?q=é", "https://xn--exmple-cua.fr/soci%C3%A9t%C3%A9?q=%C3%A9"),
        ("https://[2001:db8::1]/x", "https://[2001:db8::1]/x"),
        ("https://www.acme.fr/a%20b", "https://www.acme.fr/a%20b"),
    ],
)
def test_safe_targets(raw: str, expected: str) -> None:
    assert safe_target(raw) == expected


@pytest.mark.parametrize(
    "raw", [None, 3, "", "x" * 2001, "https://", "https://a..b/", "https://-a.fr/", "https://a.fr:99999/"]
)
def test_unsafe_targets(raw: object) -> None:
    with pytest.raises(LinkError):
        safe_target(raw)


def test_campaign_names() -> None:
    assert campaign_name("  newsletter-nov ") == "newsletter-nov"
    for bad in (None, "", "  ", "a\nb", "x" * 101, 5):
        with pytest.raises(LinkError):
            campaign_name(bad)
