"""A small history both the what-if and the rescore tests replay: three people a draft moves differently.

The draft makes white paper B worth 8 (Élodie, known at 5, reaches MQL) and white paper C worth 4
(Capucine, SQL at 12, no longer qualifies but keeps her stage); Marc stays anonymous.
"""

from __future__ import annotations

from tracker.services import programmes

from .conftest import SEED_GRID, Server

DRAFT = SEED_GRID.replace("wp_choose = 5 ", "wp_choose = 8 ").replace("wp_vision = 12 ", "wp_vision = 4 ")
assert DRAFT != SEED_GRID


async def plant(server: Server, extra: int = 0) -> dict[str, int]:
    """Élodie, Capucine, Marc and ``extra`` known people with white paper A; their person ids by name."""
    ids: dict[str, int] = {}
    journeys = {
        "elodie": ("elodie@example.fr", "/livre-blanc-b.pdf"),
        "capucine": ("capucine@example.fr", "/livre-blanc-c.pdf"),
        "marc": (None, "/livre-blanc-a.pdf"),
        **{f"p{n}": (f"p{n}@example.fr", "/livre-blanc-a.pdf") for n in range(extra)},
    }
    for name, (email, paper) in journeys.items():
        beacon = server.beacon()
        await beacon.page("/demo/")
        if email is not None:
            await beacon.form("contact", email=email)
        await beacon.download(paper)
        server.clock.advance(60)
        ids[name] = int((await server.person_of(beacon))["id"])
    return ids


async def publish_draft(server: Server, source: str = DRAFT) -> int:
    store = server.runtime.store
    current = (await programmes.history(store, "demo")).current
    done = await programmes.publish(
        store, "demo", source, base_version=current, author="cli", comment="test", now=server.clock()
    )
    await server.runtime.sites.refresh()
    return done.version


async def win(server: Server, person_id: int) -> None:
    """Sales records a won deal for the person, a minute later."""
    key = await server.key("sales")
    answer = await server.http.post(
        f"/api/leads/{person_id}/outcome",
        json={"kind": "won", "value": 1000},
        headers={"authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 201, answer.text
    server.clock.advance(60)
