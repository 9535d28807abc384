"""Signed e-mail links: a click link naming a person, an e-mail campaign and a target URL, and an
open pixel naming a person and a campaign.

tracker sends no e-mail: an e-mail tool puts these links in its messages.  A token is its payload
``[site id, person id, campaign, (url,) minted at]`` as compact JSON (zlib-compressed when that
is shorter), URL-safe base64, and an HMAC keyed with the server's secret, like the visitor
token (itsdangerous), cut to 96 bits.  Whoever holds a link can read it (ids, the campaign and the URL the
e-mail shows anyway) but nobody can forge or alter one.  A link expires ``LINK_SECONDS`` after it
was minted; time is passed in.

The redirect target is only ever the URL inside a genuine token, and ``safe_target`` checked it
when minting and checks it again before redirecting: absolute http(s) with a plain host, never
``//host``, ``\\\\host``, ``javascript:``, ``data:`` or ``user@host``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import orjson
from itsdangerous import BadData, BadSignature, URLSafeSerializer
from itsdangerous.signer import HMACAlgorithm

# An old newsletter still gets clicked for weeks; after three months a click says little.
LINK_SECONDS = 90 * 86400
MAX_CAMPAIGN = 100
MAX_TARGET = 2000
# Letters, digits, dashes between dots (IP literals are checked as addresses).
_HOST = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$|^\[[0-9a-f:.]+\]$"
)
# What a URL may hold once non-ASCII characters are percent-encoded (RFC 3986 reserved and unreserved).
_URL_SAFE = "/?#[]@!$&'()*+,;=%~:-._"
_CONTROL = re.compile(r"[\x00-\x20\x7f\\]")
# The longest genuine token (a MAX_TARGET URL, a MAX_CAMPAIGN name) and some; longer is garbage.
_MAX_TOKEN = 3200


class LinkError(ValueError):
    """A campaign name or a target URL that no link may carry."""


@dataclass(frozen=True, slots=True)
class Link:
    site_id: int
    person_id: int
    campaign: str
    minted_at: float
    url: str = ""  # where a click goes; empty for an open pixel


@dataclass(frozen=True, slots=True)
class Checked:
    """A token's verdict: the genuine, unexpired ``link``, or None and the site whose home to send to."""

    link: Link | None
    site_id: int | None = None


def campaign_name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise LinkError("campaign must be a non-empty string")
    name = raw.strip()
    if len(name) > MAX_CAMPAIGN or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise LinkError(f"campaign is at most {MAX_CAMPAIGN} printable characters")
    return name


def safe_target(raw: Any) -> str:
    """The URL a click may redirect to, non-ASCII percent-encoded; LinkError says why not."""
    if not isinstance(raw, str):
        raise LinkError("url must be a string")
    url = raw.strip()
    if not url or len(url) > MAX_TARGET:
        raise LinkError(f"url must hold 1 to {MAX_TARGET} characters")
    # Browsers read "\" as "/" and drop tabs and newlines: "https:\\evil" or "java\tscript:" would slip past.
    if _CONTROL.search(url):
        raise LinkError("url may not hold spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise LinkError(f"url is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not url[len(scheme) + 1 :].startswith("//"):
        raise LinkError("url must be an absolute http:// or https:// URL")
    if "@" in parts.netloc:
        raise LinkError("url may not carry a user name or password (user@host)")
    if not host:
        raise LinkError("url must name a host")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise LinkError(f"url's host {host!r} is not a valid domain name") from None
    if ":" in host:
        try:
            host = f"[{ipaddress.IPv6Address(host)}]"
        except ValueError:
            raise LinkError(f"url's host {host!r} is not a valid address") from None
    elif not _HOST.match(host):
        raise LinkError(f"url's host {host!r} is not a valid domain name")
    netloc = host if port is None else f"{host}:{port}"
    path, query, fragment = (quote(part, safe=_URL_SAFE) for part in (parts.path, parts.query, parts.fragment))
    return urlunsplit((scheme, netloc, path, query, fragment))


def click_url(base: str, token: str) -> str:
    """The link to put in an e-mail, on the tracker's public address ``base``."""
    return f"{base.rstrip('/')}/r/{token}"


def open_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/o/{token}.gif"


class _ShortHMAC(HMACAlgorithm):
    """HMAC-SHA256 cut to 96 bits (16 characters, not 27): a forger still needs some 2**95
    tries per link, each one a request, and every character counts in an e-mail."""

    def __init__(self) -> None:
        super().__init__(hashlib.sha256)

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return super().get_signature(key, value)[:12]


class EmailLinks:
    """Signs and checks click and open tokens; one per server secret.

    Checking is itsdangerous's ``loads``.  Signing writes the very same format by hand, with the
    HMAC keyed once: itsdangerous's ``dumps`` derives the key, builds a signer and tries zlib on
    every call, 170 µs a token where a newsletter needs 50,000 of them in seconds.  Payloads are
    left uncompressed (a URL barely shrinks), which also keeps altered tokens' claimed site readable.
    """

    def __init__(self, secret: str) -> None:
        short = {"algorithm": _ShortHMAC()}
        # Two salts: an open token can never be presented as a click, nor the reverse.
        self._clicks = URLSafeSerializer(secret, salt="tracker.email-click", signer_kwargs=short)
        self._opens = URLSafeSerializer(secret, salt="tracker.email-open", signer_kwargs=short)
        self._click_mac = hmac.new(self._clicks.make_signer().derive_key(), digestmod=hashlib.sha256)
        self._open_mac = hmac.new(self._opens.make_signer().derive_key(), digestmod=hashlib.sha256)

    def click_token(self, link: Link) -> str:
        payload = [link.site_id, link.person_id, link.campaign, link.url, int(link.minted_at)]
        return _signed(self._click_mac, payload)

    def open_token(self, link: Link) -> str:
        return _signed(self._open_mac, [link.site_id, link.person_id, link.campaign, int(link.minted_at)])

    def click(self, token: str, now: float) -> Checked:
        checked = self._check(self._clicks, token, 5, now)
        if checked.link is None:
            return checked
        try:
            safe_target(checked.link.url)
        except LinkError:
            return Checked(None, checked.site_id)
        return checked

    def open(self, token: str, now: float) -> Checked:
        return self._check(self._opens, token, 4, now)

    def _check(self, serializer: URLSafeSerializer, token: str, size: int, now: float) -> Checked:
        if len(token) > _MAX_TOKEN:
            return Checked(None)
        try:
            payload = serializer.loads(token)
        except BadSignature as exc:
            # An altered token still names the site whose home it goes to: only a configured home
            # can be reached.  Compressed payloads are not inflated unverified (a zlib bomb).
            return Checked(None, _claimed_site(serializer, exc.payload, token))
        except BadData:
            return Checked(None)
        if not isinstance(payload, list) or len(payload) != size or not _well_typed(payload):
            return Checked(None)
        minted_at = float(payload[-1])
        if not minted_at <= now < minted_at + LINK_SECONDS:
            return Checked(None, payload[0])
        url = payload[3] if size == 5 else ""
        return Checked(Link(payload[0], payload[1], payload[2], minted_at, url), payload[0])


def _signed(keyed: hmac.HMAC, payload: list[Any]) -> str:
    """``URLSafeSerializer.dumps(payload)`` with ``_ShortHMAC``, uncompressed."""
    value = urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=")
    mac = keyed.copy()
    mac.update(value)
    return f"{value.decode()}.{urlsafe_b64encode(mac.digest()[:12]).decode()}"


def _well_typed(payload: list[Any]) -> bool:
    ints = (payload[0], payload[1], payload[-1])
    return all(type(value) is int for value in ints) and all(isinstance(value, str) for value in payload[2:-1])


def _claimed_site(serializer: URLSafeSerializer, payload: Any, token: str) -> int | None:
    if not isinstance(payload, bytes) or token.startswith("."):
        return None
    try:
        claimed = serializer.load_payload(payload)
    except BadData:
        return None
    site_id = claimed[0] if isinstance(claimed, list) and claimed else None
    return site_id if type(site_id) is int else None
