"""domain.journeys: the paths simulated people take through the demo site."""

from __future__ import annotations

import random

from tracker.domain.journeys import (
    QUALITY,
    Persona,
    Visit,
    comebacks,
    download,
    evaluator,
    form,
    identifies,
    page,
    reader,
)
from tracker.domain.planted import DEMO_PLAN
from tracker.domain.simulation import Hit, generate

from .conftest import START, Server

PERSON = Persona("Ana", "Lopez", "ana@example.test", "Acme", "Acheteuse")


def test_product_pages_carry_their_line_and_price_and_forms_who_filled_them() -> None:
    assert page("/demo/produits/medical/medica-lab").props == {
        "line": "medical",
        "price": 12900,
        "product": "medica-lab",
    }
    assert page("/demo/blog/").props == {}
    assert form("demo", PERSON, job=True).props["job_title"] == "Acheteuse"
    assert identifies([page("/demo/"), form("newsletter", PERSON)]) and not identifies([download("livre-blanc-c")])


def test_journeys_take_detours_white_paper_c_and_a_second_device() -> None:
    rng = random.Random(1)
    readers = [reader(PERSON, rng) for _ in range(200)]
    curious = sum(any(download("livre-blanc-c") in request for request in visits[0].requests) for visits in readers)
    assert 20 < curious < 70  # about one reader in five
    evaluators = [evaluator(PERSON, rng) for _ in range(200)]
    phones = [visits[1] for visits in evaluators if visits[1].device == "mobile"]
    assert 30 < len(phones) < 100 and all(phone.requests[-1] == [form("newsletter", PERSON)] for phone in phones)


def test_people_come_back_later_and_never_past_the_day_given() -> None:
    rng = random.Random(2)
    journey = [Visit(0, [[page("/demo/")], [form("newsletter", PERSON)]])]
    later = [comebacks(rng, journey, 60) for _ in range(300)]
    assert all(0 < visit.day < 60 for visits in later for visit in visits)
    assert all([visit.day for visit in visits] == sorted({visit.day for visit in visits}) for visits in later)
    lead_returns = sum(map(len, later))
    anonymous = sum(len(comebacks(rng, [Visit(0, [[page("/demo/")]])], 60)) for _ in range(300))
    assert lead_returns > 1.5 * anonymous  # leads come back more often
    read = {step.path for visits in later for visit in visits for request in visit.requests for step in request}
    assert read & set(QUALITY) and {visit.device for visits in later for visit in visits} == {"desktop"}
    on_the_phone = [Visit(0, [[page("/demo/")]]), Visit(1, [[form("newsletter", PERSON)]], "mobile")]
    devices = {visit.device for _ in range(100) for visit in comebacks(rng, on_the_phone, 60)}
    assert devices == {"mobile"}  # where they said who they are: what they read there is their lead's
    anonymous_devices = {visit.device for _ in range(100) for visit in comebacks(rng, [Visit(0, [[page("/")]])], 60)}
    assert anonymous_devices == {"desktop", "mobile"}
    assert comebacks(rng, journey, 0) == []  # a journey that started today has no later


async def test_every_page_and_file_people_visit_is_one_the_demo_site_serves(server: Server) -> None:
    simulation = generate(START, DEMO_PLAN, people=400, days=60, seed=1)
    paths = {step.path for item in simulation.items if isinstance(item, Hit) for step in item.steps}
    assert len(paths) > 20
    for path in sorted(paths):
        assert (await server.http.get(path)).status_code == 200, path
