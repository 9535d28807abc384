"""A simulated history: people, their journeys on the demo site, bots, and what sales records.

``generate`` turns a plan of planted effects (``domain.planted``), a number of people and
days, a seed and an injected ``now`` into the requests their browsers send, oldest first,
with the outcomes sales records on the leads interleaved at their time: the same inputs
give the same requests.  It writes nothing; ``services.simulate`` replays the requests
through the ingest pipeline exactly as beacon requests.

Marc, Élodie and Capucine of the seed articles are always among the people, with their own
journeys and scores (13, 5, 18); being scripted, they are left out of the truth and get no
outcome.  Everybody else takes a journey at random (``domain.journeys``), and those who
identify become leads whose fate the plan decides.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from tracker.domain.facts import Incoming
from tracker.domain.journeys import (
    COMPANIES,
    FIRST_NAMES,
    JOB_TITLES,
    JOURNEYS,
    LAST_NAMES,
    PRICES,
    QUALITY,
    Journey,
    Persona,
    Step,
    Visit,
    browser,
    comebacks,
    download,
    feedback,
    form,
    identifies,
    page,
    vision,
)
from tracker.domain.outcomes import Outcome
from tracker.domain.people import SESSION_GAP
from tracker.domain.planted import DAY, Lead, Plan, Truth, chance, did_and_score

SEED = 2026
PEOPLE = 300
DAYS = 30
# Where the demo site's pages are said to be: the history's URLs are absolute, as the beacon's are.
ORIGIN = "https://www.prisme3d.example"
# Minutes between the requests of one visit, and the working hours visits start in (UTC).
PACE = (0.5, 4.0)
HOURS = (7.0, 18.0)
# The beacon's own gap between a scraper's page views, well under abuse.MIN_PAGE_GAP.
SCRAPER_PACE = 0.01
ACTIVE_NOW = 6  # people still on the site when the simulation ends
PEOPLE_PER_SCRAPER = 1000
MARC = Persona("Marc", "Lefèvre", "marc.lefevre@atelier-lefevre.example", "Atelier Lefèvre", "Responsable achats")
ELODIE = Persona("Élodie", "Garnier", "elodie.garnier@clinique-garnier.example", "Clinique Garnier", "Pharmacienne")
CAPUCINE = Persona("Capucine", "Roussel", "capucine.roussel@roussel-design.example", "Roussel Design", "Directrice")
AGENTS = {
    "desktop": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/130.0.0.0 Safari/537.36",
    "mobile": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.5 Mobile/15E148 Safari/604.1",
}
CRAWLERS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "python-requests/2.32.3",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/130.0.0.0 Safari/537.36",
)
# Where visits come from, and how often ("": typed in, a bookmark).
REFERRERS = {
    "": 40,
    "https://www.google.com/": 35,
    "https://www.linkedin.com/": 15,
    "https://www.bing.com/": 7,
    "https://www.3dnatives.com/": 3,
}
SCRAPED = ("/demo/", "/demo/tarifs", "/demo/emplois", "/demo/blog/", "/demo/produits/", "/demo/app")


@dataclass(frozen=True, slots=True)
class Hit:
    """One beacon request: when, from which device (its key in the history), its user agent, its events."""

    ts: float
    device: str
    agent: str
    steps: tuple[Step, ...]
    referrer: str = ""  # where the visit came from, on its first request

    def events(self) -> list[Incoming]:
        return [_incoming(step, self.ts, self.referrer) for step in self.steps]


@dataclass(frozen=True, slots=True)
class Sale:
    """An outcome sales records on the lead ``email`` at ``ts``."""

    ts: float
    email: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Ignored:
    """A request the site's tracker ignores: a crawler's (``agent``) or the team's own (``agent`` None)."""

    ts: float
    events: int
    agent: str | None


@dataclass(frozen=True, slots=True)
class Simulation:
    items: list[Hit | Sale]  # oldest first
    ignored: list[Ignored]
    truth: Truth


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
    """White paper B and the newsletter, then nurtured (known, 5)."""
    return [Visit(0, [[page("/demo/")], [download("livre-blanc-b")], [form("newsletter", person)]])]


NAMED: tuple[tuple[Persona, Journey, int], ...] = ((MARC, marc, 6), (ELODIE, elodie, 3), (CAPUCINE, vision, 2))


def generate(now: float, plan: Plan, *, people: int = PEOPLE, days: int = DAYS, seed: int = SEED) -> Simulation:
    """``people`` visitors over the ``days`` before ``now``, their leads' fates drawn from ``plan``."""
    rng = random.Random(seed)
    journeys, weights = zip(*JOURNEYS, strict=True)
    cast: list[tuple[Persona, Journey, int]] = list(NAMED)
    for persona in personas(max(0, people - len(NAMED)), rng):
        cast.append((persona, rng.choices(journeys, weights)[0], rng.randrange(days)))
    hits: list[Hit] = []
    sales: list[Sale] = []
    leads: list[Lead] = []
    for number, (persona, journey, days_ago) in enumerate(cast):
        scripted = number < len(NAMED)  # they keep their scores, and have no fate to draw
        visits = journey(persona, rng)
        if not scripted:
            visits += comebacks(rng, visits, days_ago)
        journey_hits = _journey_hits(rng, str(number), visits, now - days_ago * DAY, now)
        hits += journey_hits
        steps = [step for hit in journey_hits for step in hit.steps]
        if not scripted and identifies(steps):
            lead = _fate(rng, plan, persona.email, steps, journey_hits[0].ts, journey_hits[-1].ts)
            leads.append(lead)
            sales += [sale for sale in _sales(rng, plan, lead) if sale.ts < now]
    for number in range(ACTIVE_NOW):  # still on the site: their last request minutes ago
        visit = browser(MARC, rng)[0]  # browsing uses no personal detail
        at = now - rng.uniform(30, 200) - (len(visit.requests) - 1) * 60
        hits += _visit_hits(rng, f"active{number}:desktop", visit, at, pace=60)
    for number in range(max(1, len(cast) // PEOPLE_PER_SCRAPER)):
        scraped = Visit(0, [[page(path)] for path in rng.sample(SCRAPED, rng.randint(4, len(SCRAPED)))])
        at = now - rng.uniform(0.1, min(days, 5)) * DAY
        hits += _visit_hits(rng, f"scraper{number}:desktop", scraped, at, pace=SCRAPER_PACE)
    ignored = list(_ignored(now, days, rng))
    items: list[Hit | Sale] = sorted([*hits, *sales], key=lambda item: item.ts)
    scraped_requests = sum(1 for hit in hits if hit.device.startswith("scraper"))
    truth = Truth(
        plan=plan,
        seed=seed,
        now=now,
        days=days,
        people=len(cast),
        requests=len(hits),
        events=sum(len(hit.steps) for hit in hits),
        outcomes=len(sales),
        bots=scraped_requests + sum(1 for request in ignored if request.agent is not None),
        leads=tuple(leads),
    )
    return Simulation(items, ignored, truth)


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


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "-")


def _fate(rng: random.Random, plan: Plan, email: str, steps: list[Step], first: float, last: float) -> Lead:
    did, score = did_and_score(plan, steps)
    odds = chance(plan, did, score)
    buys = rng.random() < odds
    decided_at = last + rng.uniform(*plan.window) * DAY
    value = _deal(rng, steps) if buys else None
    return Lead(email, did, score, odds, buys, first, last, decided_at, value)


def _deal(rng: random.Random, steps: list[Step]) -> float:
    """What a buyer spends: the dearest printer they looked at (any, if none), one to three of them."""
    seen = [PRICES[str(step.props["product"])][1] for step in steps if "product" in step.props]
    price = max(seen) if seen else rng.choice([price for _, price in PRICES.values()])
    return float(price * rng.randint(1, 3))


def _sales(rng: random.Random, plan: Plan, lead: Lead) -> list[Sale]:
    """What sales records on ``lead``: contacted, a meeting and the sale; or contacted and lost; or nothing."""
    span = lead.decided_at - lead.last_seen
    contacted = Sale(lead.last_seen + span / 3, lead.email, Outcome("contacted"))
    if lead.buys:
        meeting = Sale(lead.last_seen + span * 2 / 3, lead.email, Outcome("meeting"))
        return [contacted, meeting, Sale(lead.decided_at, lead.email, Outcome("won", value=lead.value))]
    if rng.random() < plan.contacted:
        return [contacted, Sale(lead.decided_at, lead.email, Outcome("lost", reason=rng.choice(plan.reasons)))]
    return []


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
    referrer = rng.choices(tuple(REFERRERS), tuple(REFERRERS.values()))[0]
    hits: list[Hit] = []
    for request in visit.requests:
        hits.append(Hit(at, device, AGENTS[visit.device], tuple(request), referrer))
        at += pace if pace is not None else rng.uniform(*PACE) * 60
        referrer = ""  # the next pages come from the site itself
    return hits


def _incoming(step: Step, ts: float, referrer: str) -> Incoming:
    props = dict(step.props)
    if "page" in props:
        props["page"] = ORIGIN + str(props["page"])
    email = str(props["email"]) if step.type == "form" and "email" in props else None
    return Incoming(step.type, ts, step.name, ORIGIN + step.path, referrer, props, email)


def _ignored(now: float, days: int, rng: random.Random) -> Iterator[Ignored]:
    """Crawlers every day, the team on its own site on weekdays: requests the tracker counts and ignores."""
    for back in range(days):
        midnight = (now // DAY - back) * DAY  # every UTC day has some, today's too however young
        span = min(DAY, now - midnight)
        for _ in range(rng.randint(15, 90)):
            yield Ignored(midnight + rng.random() * span, rng.randint(1, 2), rng.choice(CRAWLERS))
        if datetime.fromtimestamp(midnight, UTC).weekday() < 5:
            for _ in range(rng.randint(3, 25)):
                yield Ignored(midnight + rng.random() * span, rng.randint(1, 2), None)
