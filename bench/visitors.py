"""The timed HTTP traffic: new and returning visitors, several pages a visit, forms and downloads.

Returning visitors are primed first with a history of their own (one to three past
visits drawn from the synthetic site, so they are in different states: some have
downloaded, some filled a form, most did neither); the timed load is then each one's
next visit, ``PAGES`` requests long.  New visitors send a first request without a
token, so each of them creates a person; a form in it carries ``SEQ`` in its e-mail
so no two new visitors are merged by a shared address.

Order matters to tracker's abuse guard: a visitor's two page views under 50 ms apart
are a bot's.  Bodies are laid out step by step (every visitor's first page, then
every visitor's second page, ...), so one visitor's requests are a whole round of
visitors apart, and every visitor has exactly ``PAGES`` requests so the last step is
as long as the first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .traffic import SEQ, Hit, beacon_body, site_hits

# Pages of the timed visit of a returning visitor (each its own request).
PAGES = 4
# Share of the mixed load's requests that come from new visitors: about one visit in
# three is a first visit on a small B2B site, and a first visit is often one page.
NEW_SHARE = 0.25
# Past visits of a primed visitor: 1 to this many.
_PAST_VISITS = 3
_PAST_PAGES = (1, 4)
_VISIT_GAP_DAYS = (0.8, 1.8)
_PAGE_GAP = (10.0, 120.0)  # seconds between two pages of a past visit


@dataclass(frozen=True, slots=True)
class Visitor:
    number: int
    history: list[list[Hit]]  # past requests, sent once while priming, in order
    ago: list[float]  # how many seconds before priming each past request happened
    visit: list[list[Hit]]  # the timed visit: PAGES requests


def _visit(rng: random.Random, number: int, pages: int) -> list[list[Hit]]:
    requests: list[list[Hit]] = []
    previous = ""
    for _ in range(pages):
        hits = site_hits(rng, number, previous)
        previous = next(hit.url for hit in hits if hit.type == "page")
        requests.append(hits)
    return requests


def returning(count: int, seed: int = 13) -> list[Visitor]:
    """Visitors whose past visits happened over the last days, so the timed visit is a new session."""
    rng = random.Random(seed)
    made: list[Visitor] = []
    for number in range(count):
        history: list[list[Hit]] = []
        ago: list[float] = []
        gaps = [rng.uniform(*_VISIT_GAP_DAYS) * 86400 for _ in range(rng.randint(1, _PAST_VISITS))]
        for index in range(len(gaps)):
            # Visits a day or two apart, the last one about a day ago: all within tracker's week of back-dating.
            at = sum(gaps[index:])
            for hits in _visit(rng, number, rng.randint(*_PAST_PAGES)):
                history.append(hits)
                ago.append(at)
                at -= rng.uniform(*_PAGE_GAP)
        made.append(Visitor(number, history, ago, _visit(rng, number, PAGES)))
    return made


def new_visitor_bodies(count: int, sent_at_ms: int, seed: int = 17) -> list[bytes]:
    """First requests of ``count`` new visitors: no token, so every one sent is a new person."""
    rng = random.Random(seed)
    return [beacon_body(None, site_hits(rng, SEQ, ""), sent_at_ms) for _ in range(count)]


def returning_bodies(visitors: list[Visitor], tokens: list[str], sent_at_ms: int) -> list[bytes]:
    """Every visitor's timed visit, step by step (see the module's note on order)."""
    return [
        beacon_body(token, visitor.visit[step], sent_at_ms)
        for step in range(PAGES)
        for visitor, token in zip(visitors, tokens, strict=True)
    ]


def mixed(returning_part: list[bytes], new_part: list[bytes], new_share: float = NEW_SHARE) -> list[bytes]:
    """Returning bodies in their order with new-visitor bodies spread evenly among them."""
    if not new_part or new_share <= 0:
        return list(returning_part)
    every = max(1, round((1 - new_share) / new_share))
    out: list[bytes] = []
    for index, body in enumerate(returning_part):
        out.append(body)
        if index % every == every - 1:
            out.append(new_part[(index // every) % len(new_part)])
    return out


def events_per_request(bodies: list[bytes]) -> float:
    """Mean events a body carries (``"type":`` occurs once per event)."""
    return sum(body.count(b'"type":') for body in bodies) / max(1, len(bodies))
