"""A site as requests see it: key, origins, compiled programme, privacy settings, internal ranges."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import urlsplit

from tracker.domain.privacy import PrivacySettings
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.programme.load import Programme

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
# The key of ``sites.settings`` listing the site's own address ranges (see ``abuse``).
INTERNAL_SETTING = "internal_ips"
# The key of ``sites.settings`` naming where a refused e-mail link sends its reader (see ``home_of``).
HOME_SETTING = "home"


@dataclass(frozen=True, slots=True)
class Site:
    id: int
    key: str
    name: str
    origins: frozenset[str]
    programme: Programme
    version: int
    privacy: PrivacySettings
    # Traffic from these ranges is the site's own staff: ignored, never scored.
    internal: tuple[IPNetwork, ...] = ()
    # Where an expired or altered e-mail link sends its reader; "" when the site has no origin.
    home: str = ""

    def allows_origin(self, origin: str) -> bool:
        return "*" in self.origins or normalise_origin(origin) in self.origins


def normalise_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case; a value that is no URL (``http://[::1``) stays itself,
    which no allowed origin equals."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return origin.strip().lower()
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else origin.strip().lower()


def internal_networks(ranges: Any) -> tuple[IPNetwork, ...]:
    """CIDR ranges (``10.0.0.0/8``, ``2001:db8::/32``, or one address); ProgrammeError names a bad one."""
    if not isinstance(ranges, list):
        raise ProgrammeError(f"settings.{INTERNAL_SETTING}", "must be a list of CIDR ranges")
    try:
        return tuple(ipaddress.ip_network(str(cidr).strip(), strict=False) for cidr in ranges)
    except ValueError as exc:
        raise ProgrammeError(f"settings.{INTERNAL_SETTING}", str(exc)) from None


def home_of(setting: Any, origins: list[str]) -> str:
    """The site's home: its ``home`` setting, else its first origin's root, else ""."""
    if isinstance(setting, str) and setting:
        return setting
    return next((f"{normalise_origin(origin)}/" for origin in origins if origin != "*"), "")
