"""Which e-mail clicks and opens no person made: security scanners and privacy proxies.

Corporate mail gateways (Microsoft Defender Safe Links, Mimecast, Proofpoint, Barracuda…)
follow every link of a message on delivery, and Apple Mail Privacy Protection fetches every
image of it, read or not.  Counted as people, they inflate MQL counts (the top complaint about
scoring tools), so such events are recorded with a flag saying why (``facts.EMAIL_FLAG``) and
score only where the programme says so.

A click is flagged when its user agent is a bot's (``devices``: crawlerdetect's maintained list)
or a mail scanner's, when it comes from a data-centre network (people click from home and office
networks; scanners run in clouds), or when it comes within ``SCANNER_SECONDS`` of the link being
minted or of the person's first open of the campaign (no person reads that fast).
An open is flagged when Apple's proxy fetched it: Apple's network (17.0.0.0/8) or its bare
``Mozilla/5.0`` user agent.  Mail clients that fetch images when the person opens the message
(Gmail's and Yahoo's image proxies, Outlook) are real opens, even though their agents look like bots.
"""

from __future__ import annotations

import ipaddress
import re

from tracker.domain.devices import device_of
from tracker.domain.sites import IPAddress

SCANNER = "scanner"
DATA_CENTRE = "data_centre"
TOO_SOON = "too_soon"
PREFETCH = "prefetch"
FLAGS = (SCANNER, DATA_CENTRE, TOO_SOON, PREFETCH)
# Scanners follow links the moment a message is delivered or opened; a person takes longer.
SCANNER_SECONDS = 10.0

# Mail security gateways crawlerdetect does not know by name.
_SCANNER_AGENTS = re.compile(
    r"mimecast|proofpoint|barracuda|safelinks|messagelabs|ironport|forcepoint|trendmicro|symantec|"
    r"zscaler|fireeye|mailcontrol|cloudmark|sophos|spamtitan|hornetsecurity",
    re.IGNORECASE,
)
# The published ranges of the largest clouds and hosting networks, where mail scanners run, as
# supernets (AWS, Google Cloud, Microsoft Azure and Exchange Online Protection, DigitalOcean, OVH,
# Hetzner).  Not every data centre: a short list kept by hand, since no maintained package ships one
# offline; a click from elsewhere is judged by its agent and its timing.
DATA_CENTRES = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        # Amazon Web Services
        "3.0.0.0/9",
        "13.32.0.0/12",
        "18.128.0.0/9",
        "34.192.0.0/10",
        "52.0.0.0/11",
        "54.64.0.0/11",
        "54.144.0.0/12",
        "2600:1f00::/24",
        # Google Cloud and Google's own scanners
        "34.64.0.0/10",
        "35.184.0.0/13",
        "35.192.0.0/12",
        "35.208.0.0/12",
        "66.249.64.0/19",
        "104.196.0.0/14",
        "130.211.0.0/16",
        # Microsoft Azure and Exchange Online Protection (Safe Links)
        "13.64.0.0/11",
        "20.0.0.0/11",
        "40.64.0.0/10",
        "52.96.0.0/12",
        "104.40.0.0/13",
        "2a01:111::/32",
        # DigitalOcean
        "104.131.0.0/16",
        "138.68.0.0/16",
        "159.65.0.0/16",
        "165.227.0.0/16",
        "167.99.0.0/16",
        # OVH
        "51.68.0.0/16",
        "137.74.0.0/16",
        "145.239.0.0/16",
        # Hetzner
        "5.9.0.0/16",
        "78.46.0.0/15",
        "88.198.0.0/16",
        "95.216.0.0/15",
        "135.181.0.0/16",
    )
)
# Apple Mail Privacy Protection fetches through Apple's own network with a bare agent.
APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")
_APPLE_PROXY_AGENT = "Mozilla/5.0"


def click_flag(
    user_agent: str, address: IPAddress | None, *, minted_at: float, first_open: float | None, now: float
) -> str | None:
    """Why this click is a scanner's rather than the person's, or None."""
    if device_of(user_agent).is_bot or _SCANNER_AGENTS.search(user_agent):
        return SCANNER
    if in_data_centre(address):
        return DATA_CENTRE
    if now - minted_at < SCANNER_SECONDS or (first_open is not None and 0 <= now - first_open < SCANNER_SECONDS):
        return TOO_SOON
    return None


def open_flag(user_agent: str, address: IPAddress | None) -> str | None:
    """Why this open was fetched by a privacy proxy or a scanner rather than shown to the person, or None."""
    if user_agent.strip() == _APPLE_PROXY_AGENT or (address is not None and address in APPLE_NETWORK):
        return PREFETCH
    if _SCANNER_AGENTS.search(user_agent):
        return SCANNER
    return None


def in_data_centre(address: IPAddress | None) -> bool:
    return address is not None and any(address in network for network in DATA_CENTRES)
