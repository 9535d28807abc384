"""The demo's generated history: a month of simulated visitors, written once into the demo site.

``tracker serve --demo`` writes it on first start so every console page has something to
show: anonymous readers, known and qualified leads, SQLs routed to their owners, campaign
impressions, outcomes sales recorded, a scraper caught as a bot, and bot and internal
traffic counted per day.  It is ``services.simulate`` at a size that keeps the first start
fast, from the demo's plan of planted effects, in one unit: a start interrupted midway
leaves no half history that would then be taken for a whole one.
"""

from __future__ import annotations

from tracker.domain.planted import DEMO_PLAN, Truth
from tracker.domain.simulation import DAYS, MARC, PEOPLE, SEED
from tracker.services.simulate import simulate
from tracker.services.sites import compile_site, seed_site
from tracker.store import Store


async def ensure_demo(store: Store, key: str, name: str, programme: str, now: float) -> Truth | None:
    """Create the demo site and write its history unless it is there (Marc is its marker); what was planted."""
    site = compile_site(await seed_site(store, key, name=name, programme=programme, now=now))
    if await store.read(lambda q: q.person_by_email(site.id, MARC.email)) is not None:
        return None
    return await simulate(store, site, DEMO_PLAN, now=now, seed=SEED, people=PEOPLE, days=DAYS, batch=None)
