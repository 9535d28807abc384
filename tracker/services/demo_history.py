"""A generated history for the demo: a month of visitors, written once through the ingest pipeline.

``tracker serve --demo`` writes it on first start so every console page has something to
show: anonymous readers, known and qualified leads, SQLs routed to their owners, campaign
impressions, one device caught as a bot, and bot and internal traffic counted per day.

The history is people × journeys (``demo_journeys``) × days, from a seeded random
generator and an injected clock: the same seed and the same ``now`` give the same
requests.  Every request goes through ``services.ingest.process`` exactly as a beacon
request does (identity, merges across devices, scoring, stages, routing, decisions);
only the HTTP envelope is skipped.  Marc, Élodie and Capucine of the seed articles are
among the people, with their own journeys and scores (13, 5, 18).
"""

from __future__ import annotations

import base64
import random
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from tracker.domain.devices import Device
from tracker.domain.facts import Incoming
from tracker.domain.sites import Site
from tracker.services.abuse import BY_USER_AGENT, INTERNAL, TOO_FAST, day_of, quarantine
from tracker.services.demo_journeys import (
    COMPANIES,
    FIRST_NAMES,
    JOB_TITLES,
    JOURNEYS,
    LAST_NAMES,
    QUALITY,
    Journey,
    Persona,
    Step,
    Visit,
    browser,
    download,
    feedback,
    form,
    newsletter,
    page,
    vision,
)
from tracker.services.ingest import SESSION_GAP, process
from tracker.services.sites import compile_site, seed_site
from tracker.store import Queries, Store

SEED = 2026
PEOPLE = 300
DAYS = 30
# Where the demo site's pages are said to be: the history's URLs are absolute, as the beacon's are.
ORIGIN = "https://www.prisme3d.example"
# Minutes between the requests of one visit, and the working hours visits start in (UTC).
PACE = (0.5, 4.0)
HOURS = (7.0, 18.0)
ACTIVE_NOW = 6  # people still on the site when the demo starts
MARC = Persona("Marc", "Lefèvre", "marc.lefevre@atelier-lefevre.example", "Atelier Lefèvre", "Responsable achats")
ELODIE = Persona("Élodie", "Garnier", "elodie.garnier@clinique-garnier.example", "Clinique Garnier", "Pharmacienne")
CAPUCINE = Persona("Capucine", "Roussel", "capucine.roussel@roussel-design.example", "Roussel Design", "Directrice")
DEVICES = {
    "desktop": Device("desktop", "chrome", is_bot=False),
    "mobile": Device("mobile", "safari", is_bot=False),
}


@dataclass(frozen=True, slots=True)
class Hit:
    """One request of the history: when, from which device (a key of the plan), what it carried."""

    ts: float
    device: str
    kind: str  # desktop | mobile
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    hits: list[Hit]
    # (UTC day, reason, requests, events) of traffic ignored as bot or internal.
    ignored: list[tuple[str, str, int, int]]
    # The device keys to catch as bots once replayed (they went too fast).
    too_fast: list[str]


@dataclass(frozen=True, slots=True)
class Written:
    people: int
    requests: int
    events: int
    seconds: float


def marc(person: Persona, rng: random.Random) -> list[Visit]:
    """Marc reads on his desktop and subscribes (11), then takes the call-back pop-up on his
    phone: the phone's anonymous visitor merges into his lead, which reaches 13 (sales)."""
    desktop = [
        Visit(0, [[page("/demo/")], [download("livre-blanc-a")], [download("livre-blanc-b")]]),
        Visit(2, [[page(QUALITY[0])], [page(QUALITY[1])], [form("newsletter", person)]]),
    ]
    phone = [[page(QUALITY[2])], [feedback("impression", "sales-popup", QUALITY[2])], [form("popup-demo", person)]]
    return [*desktop, Visit(4, phone, "mobile")]


def elodie(person: Persona, rng: random.Random) -> list[Visit]:
    return newsletter(person, rng)[:1]


NAMED: tuple[tuple[Persona, Journey, int], ...] = ((MARC, marc, 6), (ELODIE, elodie, 3), (CAPUCINE, vision, 2))


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "-")


def personas(count: int, rng: random.Random) -> list[Persona]:
    """``count`` people with French names and distinct e-mails at made-up companies."""
    people: list[Persona] = []
    taken: set[str] = set()
    while len(people) < count:
        first, last, company = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), rng.choice(COMPANIES)
        domain = _ascii(company).replace("'", "").replace("&", "et").replace("--", "-")
        email = f"{_ascii(first)}.{_ascii(last)}@{domain}.example"
        if email in taken:
            email = f"{_ascii(first)}.{_ascii(last)}{len(people)}@{domain}.example"
        taken.add(email)
        people.append(Persona(first, last, email, company, rng.choice(JOB_TITLES)))
    return people


def plan(now: float, *, people: int = PEOPLE, days: int = DAYS, seed: int = SEED) -> Plan:
    """The requests of ``people`` visitors over the ``days`` before ``now``, oldest first."""
    rng = random.Random(seed)
    journeys, weights = zip(*JOURNEYS, strict=True)
    cast: list[tuple[Persona, Journey, int]] = list(NAMED)
    for persona in personas(max(0, people - len(NAMED)), rng):
        cast.append((persona, rng.choices(journeys, weights)[0], rng.randrange(days)))
    hits: list[Hit] = []
    for number, (persona, journey, days_ago) in enumerate(cast):
        hits += _journey_hits(rng, str(number), journey(persona, rng), now - days_ago * 86400.0, now)
    for number in range(ACTIVE_NOW):  # still on the site: their last request minutes ago
        visit = browser(MARC, rng)[0]  # browsing uses no personal detail
        at = now - rng.uniform(30, 200) - (len(visit.requests) - 1) * 60
        hits += _visit_hits(rng, f"active{number}:desktop", visit, at, pace=60)
    bot_visit = Visit(0, [[page(path)] for path in ("/demo/", "/demo/tarifs", "/demo/emplois", "/demo/blog/")])
    hits += _visit_hits(rng, "too-fast:desktop", bot_visit, now - rng.uniform(2, 5) * 86400.0, pace=0.01)
    hits.sort(key=lambda hit: hit.ts)
    return Plan(hits, _ignored(now, days, rng), ["too-fast:desktop"])


def _journey_hits(rng: random.Random, who: str, visits: list[Visit], start: float, now: float) -> list[Hit]:
    """The requests of one journey starting on ``start``'s day, within working hours (UTC).

    A journey that would run past the last hour is moved back as a whole, so its visits
    keep their order.
    """
    midnight = datetime.fromtimestamp(start, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    hits: list[Hit] = []
    for visit in visits:
        at = (midnight + timedelta(days=visit.day, hours=rng.uniform(*HOURS))).timestamp()
        at = max(at, hits[-1].ts + SESSION_GAP) if hits else at
        hits += _visit_hits(rng, f"{who}:{visit.device}", visit, at)
    late = hits[-1].ts - (now - 3600 - rng.uniform(0, 3600))
    return [replace(hit, ts=hit.ts - late) for hit in hits] if late > 0 else hits


def _visit_hits(rng: random.Random, device: str, visit: Visit, at: float, pace: float | None = None) -> list[Hit]:
    hits: list[Hit] = []
    for request in visit.requests:
        hits.append(Hit(at, device, visit.device, tuple(request)))
        at += pace if pace is not None else rng.uniform(*PACE) * 60
    return hits


def _incoming(step: Step, ts: float) -> Incoming:
    props = dict(step.props)
    if "page" in props:
        props["page"] = ORIGIN + str(props["page"])
    email = str(props["email"]) if step.type == "form" and "email" in props else None
    return Incoming(step.type, ts, step.name, ORIGIN + step.path, "", props, email)


def _ignored(now: float, days: int, rng: random.Random) -> list[tuple[str, str, int, int]]:
    """Bot traffic every day, internal traffic (the team on its own site) on weekdays."""
    rows: list[tuple[str, str, int, int]] = []
    for back in range(days):
        ts = now - back * 86400.0
        requests = rng.randint(15, 90)
        rows.append((day_of(ts), BY_USER_AGENT, requests, requests + rng.randint(0, requests)))
        if datetime.fromtimestamp(ts, UTC).weekday() < 5:
            requests = rng.randint(3, 25)
            rows.append((day_of(ts), INTERNAL, requests, requests + rng.randint(0, 10)))
    return rows


def _visitor_ids(rng: random.Random) -> Callable[[], str]:
    """Deterministic ids shaped like ``runtime.new_visitor_id``'s."""
    return lambda: base64.urlsafe_b64encode(rng.randbytes(16)).rstrip(b"=").decode()


async def write_history(store: Store, site: Site, history: Plan, *, seed: int = SEED) -> bool:
    """Replay ``history`` into ``site`` in one unit; False (nothing written) if it is there already.

    One unit makes it all or nothing: a start interrupted midway leaves no half history
    that would then be taken for a whole one.
    """
    marker = MARC.email
    new_id = _visitor_ids(random.Random(seed))

    async def unit(q: Queries) -> bool:
        if await q.person_by_email(site.id, marker) is not None:
            return False
        devices: dict[str, str] = {}
        for hit in history.hits:
            events = [_incoming(step, hit.ts) for step in hit.steps]
            outcome = await process(q, site, devices.get(hit.device), events, DEVICES[hit.kind], hit.ts, new_id)
            devices[hit.device] = outcome.visitor_id
        for key in history.too_fast:
            await quarantine(q, site, devices[key], TOO_FAST, history.hits[-1].ts)
        await q.add_ignored_traffic([(site.id, *row) for row in history.ignored])
        return True

    return await store.write(unit)


async def ensure_demo(
    store: Store, key: str, name: str, programme: str, now: float, *, people: int = PEOPLE
) -> Written | None:
    """Create the demo site and write its history unless it is there; what was written, or None."""
    started = time.perf_counter()
    site = compile_site(await seed_site(store, key, name=name, programme=programme, now=now))
    history = plan(now, people=people)
    if not await write_history(store, site, history):
        return None
    events = sum(len(hit.steps) for hit in history.hits)
    return Written(people, len(history.hits), events, time.perf_counter() - started)
