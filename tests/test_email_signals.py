"""Which e-mail clicks and opens a scanner or a privacy proxy made (tracker.domain.email_signals)."""

from __future__ import annotations

import ipaddress

import pytest

from tracker.domain.email_signals import DATA_CENTRE, PREFETCH, SCANNER, TOO_SOON, click_flag, in_data_centre, open_flag

from .conftest import CHROME, START

HOME = ipaddress.ip_address("90.12.34.56")  # a French home connection
OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.4266; Pro)"
GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"


def flag(
    agent: str = CHROME, address: str | None = None, *, after: float = 3600, first_open: float | None = None
) -> str | None:
    where = ipaddress.ip_address(address) if address else HOME
    return click_flag(agent, where, minted_at=START, first_open=first_open, now=START + after)


def test_a_person_clicking_later_from_home_is_no_scanner() -> None:
    assert flag() is None
    assert flag(first_open=START + 3000) is None  # opened, read for ten minutes, clicked
    assert click_flag(CHROME, None, minted_at=START, first_open=None, now=START + 60) is None


@pytest.mark.parametrize(
    "agent",
    [
        "python-requests/2.31",
        "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))",
        "Mimecast-Url-Protect/1.0",
        "Mozilla/5.0 Proofpoint URL Defense",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36",
    ],
)
def test_scanner_agents(agent: str) -> None:
    assert flag(agent) == SCANNER


@pytest.mark.parametrize("address", ["52.96.10.20", "3.5.140.2", "35.190.1.1", "40.107.22.1", "2a01:111:f400::1"])
def test_data_centre_networks(address: str) -> None:
    assert flag(address=address) == DATA_CENTRE


def test_data_centres_are_not_homes() -> None:
    assert not in_data_centre(HOME)
    assert not in_data_centre(ipaddress.ip_address("2a01:cb00::1"))  # Orange's IPv6
    assert not in_data_centre(None)


def test_clicks_within_seconds_of_minting_or_of_the_first_open() -> None:
    assert flag(after=2) == TOO_SOON
    assert flag(after=3600, first_open=START + 3599) == TOO_SOON
    assert flag(after=3600, first_open=START + 3600 - 30) is None


def test_prefetched_opens() -> None:
    assert open_flag("Mozilla/5.0", HOME) == PREFETCH  # Apple Mail Privacy Protection's agent
    assert open_flag(CHROME, ipaddress.ip_address("17.58.1.1")) == PREFETCH  # Apple's network
    assert open_flag("Mimecast-Url-Protect/1.0", HOME) == SCANNER


@pytest.mark.parametrize(
    "agent", [CHROME, OUTLOOK, GMAIL_PROXY, "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"]
)
def test_mail_clients_showing_images_to_the_reader_are_real_opens(agent: str) -> None:
    assert open_flag(agent, HOME) is None
