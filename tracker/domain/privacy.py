"""Privacy rules (GDPR / ePrivacy): the per-site policy, the consent and DNT/GPC gate, truncated IPs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_network
from typing import Any

from tracker.domain.facts import Incoming
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.values import value

DAY = 86400.0
# The first of each is the default (PrivacySettings spells them out again).
CONSENT_MODES = ("none", "required")
SIGNAL_MODES = ("honour", "ignore")
IP_MODES = ("drop", "truncate")
# 13 months: the CNIL's ceiling for audience-measurement data, and the cookie's lifetime.
DEFAULT_ANONYMOUS_DAYS = 395
# 3 years after the last contact: the CNIL's norm for B2B prospects.
DEFAULT_IDENTIFIED_DAYS = 1095
# Events a visitor sends on purpose: processed whatever DNT or GPC say (Mautic broke
# double opt-in by dropping the form submissions of DNT browsers).
EXPLICIT_EVENTS = frozenset({"form", "identify", "chat"})


# -- per-site settings -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    """A site's privacy policy; stored as JSON in ``sites.settings`` (keys as the field names)."""

    consent: str = "none"
    dnt: str = "honour"
    gpc: str = "honour"
    ip: str = "drop"
    retention_anonymous_days: int = DEFAULT_ANONYMOUS_DAYS
    # None keeps identified people until they are erased.
    retention_identified_days: int | None = DEFAULT_IDENTIFIED_DAYS

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PrivacySettings:
        """The settings in ``data`` (other keys ignored); ProgrammeError names a bad one."""
        keep_identified = "retention_identified_days" in data and data["retention_identified_days"] is None
        return cls(
            consent=_choice(data, "consent", CONSENT_MODES),
            dnt=_choice(data, "dnt", SIGNAL_MODES),
            gpc=_choice(data, "gpc", SIGNAL_MODES),
            ip=_choice(data, "ip", IP_MODES),
            retention_anonymous_days=_days(data, "retention_anonymous_days", DEFAULT_ANONYMOUS_DAYS),
            retention_identified_days=(
                None if keep_identified else _days(data, "retention_identified_days", DEFAULT_IDENTIFIED_DAYS)
            ),
        )


def _choice(data: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    """``data[key]``, one of ``allowed``; the first of them (the default) if absent."""
    value = data.get(key, allowed[0])
    if value not in allowed:
        raise ProgrammeError(f"settings.{key}", f"{value!r} is not one of {', '.join(allowed)}")
    return str(value)


def _days(data: Mapping[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ProgrammeError(f"settings.{key}", f"{value!r} is not a number of days (1 or more)")
    return value


# -- the /collect gate --------------------------------------------------------------------------


def consent_in(data: Any) -> bool | None:
    """``ctx.consent`` of a beacon body: True once given, False to withdraw, None if unanswered."""
    ctx = data.get("ctx") if isinstance(data, dict) else None
    consent = ctx.get("consent") if isinstance(ctx, dict) else None
    return consent if isinstance(consent, bool) else None


@value
class Admission:
    """The events of a request the site's policy lets through, and why the others were not."""

    events: list[Incoming]
    withheld: int = 0
    reason: str = ""  # "consent", "gpc" or "dnt" when events were withheld


def admit(
    settings: PrivacySettings, consent: bool | None, headers: Mapping[str, str], events: list[Incoming]
) -> Admission:
    """Which events to keep under the site's consent mode and its DNT and GPC handling.

    A consent-required site keeps nothing without consent.  Given consent prevails
    over DNT and GPC: it is the visitor's own, more specific answer on this site.
    Otherwise an honoured DNT or GPC signal withholds passive tracking but lets what
    the visitor sent on purpose through.
    """
    if settings.consent == "required" and consent is not True:
        return Admission([], len(events), "consent")
    reason = "" if consent else _signal(settings, headers)
    if not reason:
        return Admission(events)
    kept = [event for event in events if event.type in EXPLICIT_EVENTS]
    return Admission(kept, len(events) - len(kept), reason if len(kept) < len(events) else "")


def _signal(settings: PrivacySettings, headers: Mapping[str, str]) -> str:
    if settings.gpc == "honour" and headers.get("sec-gpc", "").strip() == "1":
        return "gpc"
    if settings.dnt == "honour" and headers.get("dnt", "").strip() == "1":
        return "dnt"
    return ""


def ip_prefix(settings: PrivacySettings, address: IPv4Address | IPv6Address | None) -> str | None:
    """What the site keeps of the client address: nothing by default, else its network prefix."""
    if settings.ip != "truncate" or address is None:
        return None
    return truncate_ip(address)


def truncate_ip(address: IPv4Address | IPv6Address) -> str:
    """``203.0.113.7`` → ``203.0.113.0/24``, ``2001:db8:1:2::5`` → ``2001:db8:1::/48``."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(ip_network((address, 24 if address.version == 4 else 48), strict=False))
