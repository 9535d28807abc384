"""Journeys people take through the demo site, as data: what a simulated history is made of.

A journey is a list of visits; a visit is the beacon requests of one device, minutes apart;
visits of one journey are days apart.  ``domain.simulation`` picks people, a journey for
each and the day they start; ``services.simulate`` replays every request through the
ingest pipeline.  Journeys take detours at random (white paper C, a second device), so a
planted behaviour is done by people of several journeys, not by one journey alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# Pages that score nothing in the seed programme, for people who only look around.
BROWSING = (
    "/demo/",
    "/demo/blog/",
    "/demo/blog/tendances-impression-3d",
    "/demo/blog/choisir-sa-resine",
    "/demo/produits/",
    "/demo/produits/general/prisme-mini",
    "/demo/produits/general/prisme-pro",
    "/demo/produits/medical/medica-dent",
    "/demo/app",
)
QUALITY = (
    "/demo/blog/qualite/controle-qualite-piece-par-piece",
    "/demo/blog/qualite/certification-iso-13485",
    "/demo/blog/qualite/sav-sous-48-heures",
)
# Share of readers, subscribers, evaluators and buyers who also take white paper C.
CURIOUS = 0.2
# Chance to come back once more after a journey, for leads and for anonymous visitors.
COME_BACK_LEAD = 0.5
COME_BACK = 0.2
# Share of evaluators who come back on their phone and subscribe again there (a second device, merged).
SECOND_DEVICE = 0.3
PRICES = {
    "prisme-mini": ("general", 390),
    "prisme-pro": ("general", 4900),
    "prisme-atelier": ("general", 24500),
    "kit-guides": ("medical", 290),
    "medica-dent": ("medical", 6900),
    "medica-lab": ("medical", 12900),
}


@dataclass(frozen=True, slots=True)
class Step:
    """One event: its type, the demo path it happened on, its props and (forms) its name."""

    type: str
    path: str
    props: dict[str, Any] = field(default_factory=dict)
    name: str = ""


@dataclass(frozen=True, slots=True)
class Visit:
    """Requests of one device in one sitting; ``day`` counts from the journey's first day."""

    day: int
    requests: list[list[Step]]
    device: str = "desktop"  # "desktop" or "mobile": a second device is a second visitor


@dataclass(frozen=True, slots=True)
class Persona:
    first: str
    last: str
    email: str
    company: str
    job_title: str


Journey = Callable[[Persona, random.Random], list[Visit]]


def page(path: str) -> Step:
    slug = path.rstrip("/").rsplit("/", 1)[-1]
    if slug in PRICES:
        line, price = PRICES[slug]
        return Step("page", path, {"line": line, "price": price, "product": slug})
    return Step("page", path)


def download(name: str) -> Step:
    return Step("download", f"/demo/files/{name}.pdf", {"page": "/demo/"})


def form(name: str, person: Persona, *, job: bool = False) -> Step:
    fields: dict[str, Any] = {"email": person.email, "company": person.company}
    if job:
        fields["job_title"] = person.job_title
    return Step("form", "/demo/contact", fields, name)


def feedback(kind: str, campaign: str, path: str = "/demo/") -> Step:
    """What the beacon reports of a campaign: impression, close or conversion."""
    return Step(kind, path, {"campaign": campaign})


def _browse(rng: random.Random, count: int) -> list[list[Step]]:
    return [[page(path)] for path in rng.sample(BROWSING, count)]


def _curious(rng: random.Random) -> list[list[Step]]:
    """Sometimes white paper C as well: the download that says the most about a buyer."""
    return [[download("livre-blanc-c")]] if rng.random() < CURIOUS else []


# ---- the journeys -------------------------------------------------------------------------


def browser(person: Persona, rng: random.Random) -> list[Visit]:
    """Looks around once or twice and leaves: anonymous, no score."""
    visits = [Visit(0, _browse(rng, rng.randint(1, 3)))]
    if rng.random() < 0.3:
        visits.append(Visit(rng.randint(1, 6), _browse(rng, rng.randint(1, 2)), rng.choice(("desktop", "mobile"))))
    return visits


def reader(person: Persona, rng: random.Random) -> list[Visit]:
    """Reads the overview and a quality article or two; never says who they are."""
    reading = [[page("/demo/")], [download("livre-blanc-a")]]
    reading += [[page(path)] for path in rng.sample(QUALITY, rng.randint(1, 2))]
    return [Visit(0, reading + _curious(rng))]


def newsletter(person: Persona, rng: random.Random) -> list[Visit]:
    """White paper B and the newsletter (known, 5, like Élodie), then nurtured by the banner."""
    first = [[page("/demo/")], [download("livre-blanc-b")], [form("newsletter", person)]]
    visits = [Visit(0, first)]
    if rng.random() < 0.6:  # comes back: the banner is shown, often closed
        later = [[page(rng.choice(BROWSING))], [feedback("impression", "newsletter-banner")], *_curious(rng)]
        if rng.random() < 0.5:
            later.append([feedback("close", "newsletter-banner")])
        visits.append(Visit(rng.randint(2, 9), later))
    return visits


def evaluator(person: Persona, rng: random.Random) -> list[Visit]:
    """White paper B, then pricing a few days later (10), sometimes on the phone, subscribing there too."""
    first = Visit(0, [[page("/demo/produits/")], [download("livre-blanc-b")], [form("newsletter", person)]])
    pricing = [[page("/demo/")], [page("/demo/tarifs")], *_curious(rng)]
    if rng.random() < SECOND_DEVICE:
        return [first, Visit(rng.randint(1, 4), [*pricing, [form("newsletter", person)]], "mobile")]
    return [first, Visit(rng.randint(1, 4), pricing)]


def buyer(person: Persona, rng: random.Random) -> list[Visit]:
    """Marc's path: A, B, three quality articles (13), the call-back pop-up, the form."""
    return [
        Visit(0, [[page("/demo/")], [download("livre-blanc-a")], [download("livre-blanc-b")]]),
        Visit(rng.randint(1, 3), [[page(QUALITY[0])], [page(QUALITY[1])], *_curious(rng)]),
        Visit(
            rng.randint(4, 6),
            [
                [page(QUALITY[2])],
                [feedback("impression", "sales-popup", QUALITY[2])],
                [feedback("conversion", "sales-popup", QUALITY[2]), form("popup-demo", person, job=True)],
            ],
        ),
    ]


def vision(person: Persona, rng: random.Random) -> list[Visit]:
    """Capucine's path: the newsletter, white paper C, three quality articles (18)."""
    return [
        Visit(0, [[form("newsletter", person)], [download("livre-blanc-c")]]),
        Visit(rng.randint(1, 5), [[page(path)] for path in QUALITY]),
    ]


def medical(person: Persona, rng: random.Random) -> list[Visit]:
    """A hospital buyer: the big medical printer, its data sheet, a demo request (field sales)."""
    return [
        Visit(0, [[page("/demo/produits/medical/medica-lab")], [download("fiche-technique-medical-medica-lab")]]),
        Visit(
            rng.randint(1, 5),
            [[page("/demo/produits/medical/medica-dent")], [page("/demo/contact")], [form("demo", person, job=True)]],
        ),
    ]


def kit(person: Persona, rng: random.Random) -> list[Visit]:
    """A clinic after the surgical-guide kit: a demo request on the cheap line (call centre)."""
    return [Visit(0, [[page("/demo/produits/medical/kit-guides")], [form("demo", person, job=True)]], "mobile")]


def job_seeker(person: Persona, rng: random.Random) -> list[Visit]:
    """Looks at the job offers: engagement goes below zero."""
    visits = [Visit(0, [[page("/demo/")], [page("/demo/emplois")]])]
    if rng.random() < 0.4:
        visits.append(Visit(rng.randint(1, 3), [[page("/demo/emplois")], [form("newsletter", person)]]))
    return visits


def identifies(steps: Iterable[Step]) -> bool:
    """Whether someone taking ``steps`` says who they are (every form asks for an e-mail)."""
    return any(step.type == "form" for step in steps)


def comebacks(rng: random.Random, visits: list[Visit], before: int) -> list[Visit]:
    """Later visits, days apart, while the person keeps coming back (leads more often), before day ``before``.

    They read the blog and the products, quality articles included.  A lead comes back on a
    device they identified on, so whatever they do stays in their lead's history, as the
    ground truth assumes; anyone else on whichever device is at hand.
    """
    known = sorted({visit.device for visit in visits if identifies(step for r in visit.requests for step in r)})
    devices = known or ["desktop", "desktop", "desktop", "mobile"]
    day, later = max(visit.day for visit in visits), []
    while rng.random() < (COME_BACK_LEAD if known else COME_BACK):
        day += rng.randint(3, 21)
        if day >= before:
            break
        reading = [[page(path)] for path in rng.sample(BROWSING + QUALITY, rng.randint(1, 3))]
        later.append(Visit(day, reading, rng.choice(devices)))
    return later


# How often each journey is taken, out of the generated people.
JOURNEYS: tuple[tuple[Journey, int], ...] = (
    (browser, 40),
    (reader, 14),
    (newsletter, 13),
    (evaluator, 10),
    (buyer, 7),
    (vision, 4),
    (medical, 5),
    (kit, 3),
    (job_seeker, 4),
)

FIRST_NAMES = (
    "Julien", "Camille", "Thomas", "Léa", "Nicolas", "Manon", "Antoine", "Chloé", "Maxime", "Inès",
    "Hugo", "Sarah", "Lucas", "Emma", "Romain", "Clara", "Mathieu", "Pauline", "Alexandre", "Juliette",
    "Benoît", "Sophie", "Guillaume", "Anaïs", "Pierre", "Margaux", "Olivier", "Hélène", "Yann", "Nadia",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Faure",
)  # fmt: skip
COMPANIES = (
    "Mécanique Rhône", "Clinique du Parc", "Labo Dentaire Azur", "Atelier Vidal", "CHU Saint-Roch",
    "Prototypes Lemoine", "Orthodontie Bellevue", "Industries Carnot", "Design & Forme", "Cabinet Pasteur",
    "Aéro Composites", "Polyclinique Sud", "Moules Bretons", "Studio Volume", "Outillage Alpin",
)  # fmt: skip
JOB_TITLES = (
    "Responsable achats", "Ingénieur méthodes", "Directrice technique", "Chirurgien-dentiste",
    "Responsable bureau d'études", "Acheteuse", "Prothésiste dentaire", "Étudiant", "Gérant",
)  # fmt: skip
