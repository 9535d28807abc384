"""What the benchmark sends: beacon and Segment bodies, and synthetic visitor journeys.

Every body and event the suite uses is built here, once, so the load generator, the
sample checks and the in-process cases all exercise the same traffic.  Journeys are
drawn from a seeded ``random.Random``: two runs store and replay the same events.
"""

from __future__ import annotations

import base64
import heapq
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

SITE = "demo"
ORIGIN = "https://www.imprimantes-3d.example"
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
# What the beacon's fetch() sends: a string body is text/plain, which needs no CORS preflight.
BEACON_HEADERS = {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": USER_AGENT, "Accept": "*/*"}
# The white paper Segment batches report as downloaded (+12 engagement in the seed programme).
PRIMER_URL = f"{ORIGIN}/demo/files/livre-blanc-c.pdf"
# The placeholder bench/bodies.lua replaces with a unique value per request.
SEQ = "{{seq}}"


@dataclass(frozen=True, slots=True)
class Hit:
    """One event as the beacon reports it (before validation)."""

    type: str
    url: str
    referrer: str = ""
    title: str = ""
    name: str = ""
    props: dict[str, Any] = field(default_factory=dict)

    def to_beacon(self, t_ms: int) -> dict[str, Any]:
        raw: dict[str, Any] = {"type": self.type, "url": self.url, "t": t_ms, "props": self.props}
        for key, value in (("ref", self.referrer), ("title", self.title), ("name", self.name)):
            if value:
                raw[key] = value
        return raw


def beacon_body(token: str | None, hits: list[Hit], sent_at_ms: int, at_ms: int | None = None) -> bytes:
    """A /collect body exactly shaped like js/beacon.js sends it.

    Events happened at ``at_ms`` (default: when sent); an earlier time is what the
    beacon's offline queue sends, and tracker back-dates such events up to a week.
    """
    body: dict[str, Any] = {"site": SITE}
    if token is not None:
        body["vid"] = token
    body["sent_at"] = sent_at_ms
    body["ctx"] = {"screen": "desktop", "webdriver": False}
    body["events"] = [hit.to_beacon(sent_at_ms if at_ms is None else at_ms) for hit in hits]
    return orjson.dumps(body)


# Pages the Segment batches carry (their last hit each).
_HOME = Hit("page", f"{ORIGIN}/demo/", "https://www.google.com/", "Imprimantes 3D professionnelles")
_BLOG_A = Hit(
    "page",
    f"{ORIGIN}/demo/blog/qualite/tolerances-et-precision",
    f"{ORIGIN}/demo/",
    "Tolérances et précision : ce que garantit une imprimante 3D pro",
)
_BLOG_B = Hit(
    "page",
    f"{ORIGIN}/demo/blog/qualite/controle-qualite-en-production",
    f"{ORIGIN}/demo/blog/qualite/tolerances-et-precision",
    "Le contrôle qualité en production",
)
_ENGAGED_A = Hit("engaged", _BLOG_A.url, props={"seconds": 48, "scroll": 85})
_ABOUT = Hit("page", f"{ORIGIN}/demo/a-propos", f"{ORIGIN}/demo/", "À propos")
BROWSING: tuple[tuple[Hit, ...], ...] = ((_HOME,), (_BLOG_A,), (_ENGAGED_A, _BLOG_B), (_ABOUT,))


# -- Segment ``/v1/batch`` ---------------------------------------------------------------

SEGMENT_PATH = "/v1/batch"


def segment_headers(write_key: str) -> dict[str, str]:
    # Segment's HTTP API: the write key is the Basic-auth user name, with no password.
    basic = base64.b64encode(f"{write_key}:".encode()).decode()
    return {"Content-Type": "application/json", "User-Agent": "analytics-python/2.3", "Authorization": f"Basic {basic}"}


def segment_batch_body(write_key: str, batch_index: int, size: int, visitors: int, timestamp: str) -> bytes:
    """A server-side batch of ``size`` events from many visitors; messageIds carry ``SEQ``."""
    pages = [hits[-1] for hits in BROWSING]
    events: list[dict[str, Any]] = []
    for i in range(size):
        n = batch_index * size + i
        common = {"anonymousId": f"bench-{n % visitors}", "messageId": f"m{SEQ}-{i}", "timestamp": timestamp}
        if i % 5 == 4:
            events.append(
                {
                    "type": "track",
                    "event": "Whitepaper Downloaded",
                    "properties": {"url": PRIMER_URL},
                    **common,
                }
            )
            continue
        page = pages[n % len(pages)]
        events.append(
            {
                "type": "page",
                "name": page.title,
                "properties": {"url": page.url, "path": page.url.removeprefix(ORIGIN), "referrer": page.referrer},
                "context": {"userAgent": USER_AGENT},
                **common,
            }
        )
    return orjson.dumps({"writeKey": write_key, "batch": events})


# -- synthetic journeys (in-process cases) -------------------------------------------------

# (weight, path, title, props): a small B2B site's page mix, every rule of the seed programme reachable.
_SITE_PAGES: tuple[tuple[int, str, str, dict[str, Any]], ...] = (
    (20, "/demo/", "Imprimantes 3D professionnelles", {}),
    (8, "/demo/produits/general/imprimante-pro-x", "Pro X", {"price": 12900}),
    (6, "/demo/produits/general/imprimante-compacte", "Compacte", {"price": 4900}),
    (6, "/demo/produits/medical/guides-chirurgicaux", "Guides chirurgicaux", {"price": 18900}),
    (10, "/demo/blog/qualite/tolerances-et-precision", "Tolérances et précision", {}),
    (6, "/demo/blog/qualite/controle-qualite-en-production", "Le contrôle qualité", {}),
    (5, "/demo/blog/", "Blog", {}),
    (5, "/demo/tarifs", "Tarifs", {}),
    (4, "/demo/a-propos", "À propos", {}),
    (4, "/demo/contact", "Contact", {}),
    (2, "/demo/emplois", "Offres d'emploi", {}),
)
_DOWNLOADS = ("livre-blanc-a.pdf", "livre-blanc-b.pdf", "livre-blanc-c.pdf", "fiche-technique-medical.pdf")
_REFERRERS = ("https://www.google.com/", "https://www.linkedin.com/", "", "")


def site_hits(rng: random.Random, visitor: int | str, previous: str) -> list[Hit]:
    """One beacon request of a visitor browsing the whole site (1 to 3 events, ~1.4 on average).

    ``visitor`` names the e-mail of a form: a number, or ``SEQ`` for one e-mail per request.
    """
    weights = [p[0] for p in _SITE_PAGES]
    _, path, title, extra = rng.choices(_SITE_PAGES, weights)[0]
    url = ORIGIN + path
    hits: list[Hit] = []
    if previous and rng.random() < 0.3:
        hits.append(Hit("engaged", previous, props={"seconds": rng.randint(3, 240), "scroll": rng.randint(10, 100)}))
    referrer = previous or rng.choice(_REFERRERS)
    hits.append(Hit("page", url, referrer, title, props=dict(extra)))
    roll = rng.random()
    if roll < 0.06:
        hits.append(Hit("download", f"{ORIGIN}/demo/files/{rng.choice(_DOWNLOADS)}", props={"page": url}))
    elif roll < 0.09:
        hits.append(Hit("click", url, name="cta-devis", props={"position": "hero"}))
    elif roll < 0.095:
        fields = {"email": f"visitor{visitor}@example.org", "company": "Acme", "job_title": "Responsable achats"}
        hits.append(Hit("form", url, name="contact", props=fields))
    return hits


# What the beacon does with a decision: render it when its trigger fires (a content
# decision only where the page has its slot), report the impression, and the visitor
# may then close it.  Both reports are events of their own, sent in their own request.
_RENDERED = {"immediate": 0.95, "delay": 0.6, "scroll": 0.5, "exit": 0.2}
_CLOSED = {"popup": 0.6, "chat": 0.5, "banner": 0.3}
_CONTENT_SLOT = 0.5


# A visit: one page, then each next page with this probability, 10 s to 2 min apart;
# after a visit the visitor comes back with this probability, 1 to 14 days later.
_NEXT_PAGE = 0.65
_RETURN = 0.35
_PAGE_GAP = (10.0, 120.0)
_RETURN_GAP = (86400.0, 14 * 86400.0)


@dataclass(order=True, slots=True)
class _Due:
    at: float
    visitor: int
    previous: str = field(compare=False, default="")


class Journeys:
    """An endless, time-ordered stream of (time, visitor number, hits) from ``start``.

    New visitors arrive every ``arrival`` seconds and browse in visits (see above).
    ``shown`` feeds a response's decisions back, so campaign frequency caps see
    impressions and closes as in real traffic.
    """

    def __init__(self, seed: int, start: float, arrival: float) -> None:
        self.rng = random.Random(seed)
        self.arrival = arrival
        self.next_arrival = start
        self.visitors = 0
        self.due: list[_Due] = []
        self.reports: list[tuple[float, int, list[Hit]]] = []

    def __iter__(self) -> Iterator[tuple[float, int, list[Hit]]]:
        return self

    def __next__(self) -> tuple[float, int, list[Hit]]:
        if self.reports:
            return self.reports.pop()
        if not self.due or self.next_arrival <= self.due[0].at:
            heapq.heappush(self.due, _Due(self.next_arrival, self.visitors))
            self.visitors += 1
            self.next_arrival += self.arrival
        due = heapq.heappop(self.due)
        hits = site_hits(self.rng, due.visitor, due.previous)
        page = next(hit.url for hit in hits if hit.type == "page")
        if self.rng.random() < _NEXT_PAGE:
            heapq.heappush(self.due, _Due(due.at + self.rng.uniform(*_PAGE_GAP), due.visitor, page))
        elif self.rng.random() < _RETURN:
            heapq.heappush(self.due, _Due(due.at + self.rng.uniform(*_RETURN_GAP), due.visitor))
        return due.at, due.visitor, hits

    def shown(self, at: float, visitor: int, url: str, decisions: Iterable[tuple[str, str, str]]) -> None:
        """Queue what the beacon reports about ``decisions`` (campaign, kind, trigger) on ``url``."""
        hits: list[Hit] = []
        for campaign, kind, trigger in decisions:
            chance = _RENDERED.get(trigger, 0.5) * (_CONTENT_SLOT if kind == "content" else 1.0)
            if self.rng.random() >= chance:
                continue
            hits.append(Hit("impression", url, props={"campaign": campaign}))
            if self.rng.random() < _CLOSED.get(kind, 0.0):
                hits.append(Hit("close", url, props={"campaign": campaign}))
        if hits:  # reported as the widget renders, a moment after the page's own request
            self.reports.append((at + 1.0, visitor, hits))
