"""Lifecycle stages (domain/stages.py, services/stages.py): anonymous → known → mql → sql, forward only.

The seed journeys' stages through /collect are tested in tests/test_ingest.py; here the rule itself,
and its recording through a real store.
"""

from __future__ import annotations

from typing import Any

import pytest

from tracker.domain.facts import ScoreState
from tracker.domain.people import PersonRecord
from tracker.domain.stages import stage_for
from tracker.services.stages import advance_stage
from tracker.store import Queries

from .conftest import START, Server


def person(
    email: str | None = None, user_id: str | None = None, stage: str = "anonymous", **reached: str
) -> PersonRecord:
    return PersonRecord(
        id=1,
        site_id=1,
        email=email,
        user_id=user_id,
        stage=stage,
        profile={},
        scoring=ScoreState(reached=dict(reached)),
        campaigns={},
        created_at=START,
        identified_at=None,
        last_seen_at=START,
        updated_at=START,
    )


@pytest.mark.parametrize(
    ("who", "stage"),
    [
        (person(), "anonymous"),
        # A threshold alone does not make a lead: sales cannot call someone without a name.
        (person(engagement="sql"), "anonymous"),
        (person(email="marc@example.com"), "known"),
        (person(user_id="crm-77"), "known"),
        (person(email="marc@example.com", engagement="mql"), "mql"),
        (person(user_id="crm-77", fit="mql", engagement="sql"), "sql"),
        # An unknown level is no threshold.
        (person(email="marc@example.com", engagement="vip"), "known"),
    ],
)
def test_stage_for(who: PersonRecord, stage: str) -> None:
    assert stage_for(who) == stage


def test_stage_for_ignores_the_stage_already_recorded() -> None:
    # Forward-only is the recorder's job (advance_stage): stage_for says what the facts warrant.
    assert stage_for(person(email="marc@example.com", stage="sql")) == "known"


# ---- recording, through the store -------------------------------------------------------------


async def advance(server: Server, who: PersonRecord, event_id: int | None, ts: float) -> list[str]:
    return await server.runtime.store.write(lambda q: advance_stage(q, who, event_id, ts))


async def stages_of(server: Server, who: PersonRecord) -> list[tuple[str, float, int | None]]:
    rows: list[dict[str, Any]] = await server.runtime.store.read(lambda q: q.stages_of(who.id))
    return [(row["stage"], row["ts"], row["event_id"]) for row in rows]


async def new_person(server: Server) -> PersonRecord:
    demo = server.runtime.sites.get("demo")
    assert demo is not None

    async def unit(q: Queries) -> PersonRecord:
        return await q.insert_person(demo.id, START)

    return await server.runtime.store.write(unit)


async def test_stages_are_entered_in_order_each_once_with_the_event_that_caused_them(server: Server) -> None:
    marc = await new_person(server)
    marc.scoring = ScoreState(reached={"engagement": "mql"})
    assert await advance(server, marc, 11, START + 1) == []  # anonymous: the threshold waits for a name
    assert marc.stage == "anonymous"

    marc.email = "marc@example.com"
    assert await advance(server, marc, 12, START + 2) == ["known", "mql"]  # both, from the identifying event
    assert marc.stage == "mql"
    marc.scoring = ScoreState(reached={"engagement": "sql"})
    assert await advance(server, marc, 13, START + 3) == ["sql"]
    assert await advance(server, marc, 14, START + 4) == []  # already there: nothing recorded twice

    assert await stages_of(server, marc) == [
        ("known", START + 2, 12),
        ("mql", START + 2, 12),
        ("sql", START + 3, 13),
    ]


async def test_stages_never_go_back(server: Server) -> None:
    capucine = await new_person(server)
    capucine.email = "capucine@example.com"
    capucine.scoring = ScoreState(reached={"engagement": "sql"})
    assert await advance(server, capucine, 21, START) == ["known", "mql", "sql"]

    # However the facts change (a replay after a quarantine, an erased e-mail), sql stays sql.
    capucine.scoring = ScoreState()
    assert await advance(server, capucine, 22, START + 1) == []
    capucine.email = None
    assert await advance(server, capucine, 23, START + 2) == []
    assert capucine.stage == "sql"
    assert [stage for stage, _, _ in await stages_of(server, capucine)] == ["known", "mql", "sql"]


async def test_a_stage_without_an_event_is_recorded_with_none(server: Server) -> None:
    # A quarantine recomputes the stage with no event to blame (services.abuse.quarantine).
    elodie = await new_person(server)
    elodie.user_id = "crm-5"
    assert await advance(server, elodie, None, START + 5) == ["known"]
    assert await stages_of(server, elodie) == [("known", START + 5, None)]
