"""A site as requests see it (domain/sites.py): origins and internal address ranges.

``internal_networks`` on well-formed ranges, a too-long prefix and a non-list is tested with
the abuse rules (tests/test_abuse.py::test_internal_ranges_are_checked); here, the junk.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from tracker.domain.privacy import PrivacySettings
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.load import load_programme
from tracker.domain.sites import INTERNAL_SETTING, Site, internal_networks, normalise_origin


def site(*origins: str) -> Site:
    return Site(
        id=1,
        key="acme",
        name="Acme",
        # As services.sites.compile_site stores them.
        origins=frozenset(normalise_origin(origin) for origin in origins),
        programme=load_programme(""),
        version=1,
        privacy=PrivacySettings.from_json({}),
    )


@pytest.mark.parametrize(
    ("origin", "normalised"),
    [
        ("https://www.acme.fr", "https://www.acme.fr"),
        # Browsers send scheme://host[:port]; a configured origin may carry a path or capitals.
        (" HTTPS://WWW.Acme.FR/boutique?x=1 ", "https://www.acme.fr"),
        ("http://localhost:8080/", "http://localhost:8080"),
        # Without a scheme and a host it is kept as written, only trimmed and lowered.
        ("*", "*"),
        ("null", "null"),
        (" Acme.FR ", "acme.fr"),
        # Not a URL at all: kept as written, so it equals no configured origin (and never raises).
        ("http://[::1", "http://[::1"),
    ],
)
def test_normalise_origin(origin: str, normalised: str) -> None:
    assert normalise_origin(origin) == normalised


def test_a_site_allows_its_own_origins_only() -> None:
    acme = site("https://WWW.acme.fr/", "http://localhost:8080")
    assert acme.allows_origin("https://www.acme.fr")
    assert acme.allows_origin("HTTPS://www.ACME.fr")
    assert acme.allows_origin("http://localhost:8080")
    for other in ("http://www.acme.fr", "https://acme.fr", "https://www.acme.fr.evil.example", "null", ""):
        assert not acme.allows_origin(other), other
    # The port is part of the origin.
    assert not acme.allows_origin("http://localhost:8081")


def test_a_wildcard_site_allows_any_origin_and_a_site_without_origins_none() -> None:
    assert site("*").allows_origin("https://anything.example")
    assert site("*").allows_origin("null")
    assert not site().allows_origin("https://www.acme.fr")


def test_internal_networks_accept_addresses_ranges_and_host_bits() -> None:
    networks = internal_networks([" 10.1.2.3/8 ", "2001:db8::1"])
    assert networks == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::1/128"))
    assert internal_networks([]) == ()


@pytest.mark.parametrize(
    ("ranges", "says"),
    [
        (["10.0.0.0/8", "intranet"], "'intranet' does not appear to be an IPv4 or IPv6 network"),
        ([""], "'' does not appear to be an IPv4 or IPv6 network"),
        ([None], "'None' does not appear to be an IPv4 or IPv6 network"),
        (["256.0.0.1"], "'256.0.0.1' does not appear to be an IPv4 or IPv6 network"),
        (["10.0.0.0/8 192.168.0.0/16"], "does not appear to be an IPv4 or IPv6 network"),
    ],
)
def test_internal_networks_refuse_junk_naming_the_setting(ranges: list[Any], says: str) -> None:
    with pytest.raises(ProgrammeError) as caught:
        internal_networks(ranges)
    assert caught.value.where == f"settings.{INTERNAL_SETTING}" == "settings.internal_ips"
    assert says in caught.value.message


@pytest.mark.parametrize("ranges", [{"office": "10.0.0.0/8"}, None, ("10.0.0.0/8",)])
def test_internal_networks_need_a_list(ranges: Any) -> None:
    with pytest.raises(ProgrammeError) as caught:
        internal_networks(ranges)
    assert caught.value.message == "must be a list of CIDR ranges"
