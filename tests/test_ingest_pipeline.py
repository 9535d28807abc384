"""The ingest pipeline (services/ingest.py) called directly on a real store, below HTTP.

The doors (/collect, /v1/*) and the seed journeys through them are tested in tests/test_ingest.py
and tests/test_segment.py; here, what the pipeline decides on its own: when a visit ends, which
device is whose, what a caught bot gets, and where the visitor "is" for campaign targeting.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tracker.domain.devices import Device
from tracker.domain.facts import Incoming
from tracker.domain.sites import Site
from tracker.services.ingest import SESSION_GAP, Outcome, process, utm_of
from tracker.store import Queries

from .conftest import BASE, START, Server

DESKTOP = Device("desktop", "Chrome", False)
# Two campaigns in two placements, so both can be decided at once.
PROGRAMME = """
[[campaigns]]
id = "product-offer"
kind = "content"
slot = "offer"
text = "Nos imprimantes"
frequency = "always"
[campaigns.when]
url = "/produits/*"

[[campaigns]]
id = "salon"
kind = "banner"
text = "Au salon"
frequency = "always"
[campaigns.when]
utm = { source = "salon", campaign = "~2026" }
"""


class Pipeline:
    """One site's pipeline on the server's store, with the ids it gives new devices."""

    def __init__(self, server: Server, site: Site) -> None:
        self.server = server
        self.site = site
        # Device ids are unique across sites: each site's are named after it.
        self.ids = (f"{site.key}-device-{n}" for n in itertools.count(1))

    async def process(self, visitor_id: str | None, *events: Incoming, now: float = START) -> Outcome:
        return await self.server.runtime.store.write(
            lambda q: process(q, self.site, visitor_id, list(events), DESKTOP, now, lambda: next(self.ids))
        )

    async def visits(self, visitor_id: str) -> list[int]:
        async def unit(q: Queries) -> list[int]:
            device = await q.visitor(visitor_id, self.site.id)
            assert device is not None
            return [event.visit for event in await q.events_of(device.person_id)]

        return await self.server.runtime.store.read(unit)


async def pipeline(server: Server, site: str = "demo", programme: str | None = None) -> Pipeline:
    if programme is not None:
        await server.load_programme(programme, site=site)
    loaded = server.runtime.sites.get(site)
    assert loaded is not None
    return Pipeline(server, loaded)


def page(path: str, ts: float = START, **props: Any) -> Incoming:
    return Incoming(type="page", ts=ts, url=BASE + path, props=props)


def decided(outcome: Outcome) -> list[str]:
    return sorted(decision.campaign for decision in outcome.decisions)


# ---- devices and visits -----------------------------------------------------------------------


async def test_an_unknown_device_starts_a_new_anonymous_person(server: Server) -> None:
    demo = await pipeline(server)
    first = await demo.process(None, page("/demo/"))
    again = await demo.process("never-seen", page("/demo/"))
    assert (first.visitor_id, again.visitor_id) == ("demo-device-1", "demo-device-2")
    assert first.person_id != again.person_id
    # A known device keeps its person.
    assert (await demo.process("demo-device-1", page("/demo/tarifs"))).person_id == first.person_id


async def test_a_device_belongs_to_one_site(server: Server) -> None:
    demo = await pipeline(server)
    acme = await pipeline(server, "acme", PROGRAMME)
    mine = await demo.process(None, page("/demo/"))
    theirs = await acme.process(mine.visitor_id, page("/"))
    assert theirs.visitor_id != mine.visitor_id and theirs.person_id != mine.person_id


async def test_a_visit_ends_after_thirty_minutes_without_an_event(server: Server) -> None:
    demo = await pipeline(server)
    device = (await demo.process(None, page("/demo/"), now=START)).visitor_id
    await demo.process(device, page("/demo/a"), now=START + SESSION_GAP)  # exactly 30 min: the same visit
    await demo.process(device, page("/demo/b"), now=START + 2 * SESSION_GAP + 1)  # 30 min and 1 s: a new one
    await demo.process(device, page("/demo/c"), now=START + 2 * SESSION_GAP + 2)
    assert await demo.visits(device) == [1, 1, 2, 2]


async def test_a_device_caught_as_a_bot_gets_nothing_and_records_nothing(server: Server) -> None:
    demo = await pipeline(server)
    human = await demo.process(None, page("/demo/blog/qualite/precision"))
    await server.runtime.store.write(lambda q: q.flag_bot(human.visitor_id, "too-fast"))

    caught = await demo.process(
        human.visitor_id, Incoming("download", START, url=BASE + "/demo/files/livre-blanc-c.pdf")
    )
    assert caught == Outcome(human.visitor_id, human.person_id, [], bot="too-fast")
    assert await server.count("events") == 1
    assert (await server.api(f"/api/leads/{human.person_id}"))["scores"]["engagement"] == 2


# ---- where the visitor is, for campaign targeting -----------------------------------------------


async def test_targeting_sees_the_last_page_of_the_request(server: Server) -> None:
    shop = await pipeline(server, "shop", PROGRAMME)
    click = Incoming("click", START, name="cta", url=BASE + "/contact")
    assert decided(await shop.process(None, page("/produits/p400"), click)) == ["product-offer"]
    assert decided(await shop.process(None, page("/produits/p400"), page("/blog/"))) == []


async def test_targeting_sees_the_page_a_file_was_downloaded_from(server: Server) -> None:
    shop = await pipeline(server, "shop", PROGRAMME)
    download = Incoming("download", START, url=BASE + "/files/p400.pdf", props={"page": BASE + "/produits/p400"})
    assert decided(await shop.process(None, download)) == ["product-offer"]
    # Without the page it came from, the file's own URL is all there is.
    assert decided(await shop.process(None, Incoming("download", START, url=BASE + "/produits/p400.pdf"))) == [
        "product-offer"
    ]
    assert decided(await shop.process(None, Incoming("download", START, url=BASE + "/files/p400.pdf"))) == []


async def test_targeting_sees_the_utm_parameters_of_the_current_page(server: Server) -> None:
    shop = await pipeline(server, "shop", PROGRAMME)
    assert decided(await shop.process(None, page("/?utm_source=salon&utm_campaign=lyon-2026"))) == ["salon"]
    assert decided(await shop.process(None, page("/?utm_source=salon&utm_campaign=lyon-2025"))) == []
    # Only the page the visitor is on counts, not one seen earlier in the same request.
    assert decided(await shop.process(None, page("/?utm_source=salon&utm_campaign=2026"), page("/"))) == []


@pytest.mark.parametrize(
    ("url", "utm"),
    [
        (
            "https://x.fr/?utm_source=salon&utm_medium=print&utm_campaign=lyon&utm_term=3d&utm_content=qr&ref=x",
            {"source": "salon", "medium": "print", "campaign": "lyon", "term": "3d", "content": "qr"},
        ),
        # Only Segment's five UTM keys; a made-up one is just a parameter.
        ("https://x.fr/?utm_id=7&utm_source=a%20b", {"source": "a b"}),
        ("/relative?utm_medium=email", {"medium": "email"}),
        ("https://x.fr/produits", {}),
        ("http://[::1/?utm_source=x", {}),
    ],
)
def test_utm_of(url: str, utm: dict[str, str]) -> None:
    assert utm_of(url) == utm
