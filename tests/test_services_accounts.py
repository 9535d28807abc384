"""Customer accounts end to end (services/accounts.py, web/accounts.py), on both backends.

Calls are made with Segment's official Python client: what it would send is captured and posted to
the server, so the account calls arrive exactly as a customer's backend sends them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from segment.analytics import request as segment_request
from segment.analytics.client import Client

from tracker.services.accounts import refresh_site
from tracker.services.webhooks import add_webhook, renderer
from tracker.store import Queries

from .conftest import BASE, SEED_GRID, START, Server

DAY = 86400.0
SECTION = """
[accounts]
[accounts.scores.potential]
members = "sum"
of = "engagement"
thresholds = [10]
[accounts.scores.health]
[[accounts.rules]]
id = "big"
score = "potential"
trait = { size = ">= 500" }
points = 20
[[accounts.rules]]
id = "usage"
score = "health"
event = { type = "report run" }
within = "30d"
points = 1
[accounts.stages]
renewal_due = { days = 60 }
upsell = { score = "potential", min = 30 }
"""
ACCOUNT_EVENTS = ["account.stage_changed", "account.score_crossed"]

Calls = Callable[[Client], None]


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> Callable[[Server, Calls], Any]:
    """Run ``calls`` on the official client; post each batch it sends to the server, as it sent it."""

    async def send(server: Server, calls: Calls) -> list[dict[str, Any]]:
        sent: list[tuple[str, dict[str, str]]] = []

        def capture(url: str, data: str, headers: dict[str, str], **_: Any) -> SimpleNamespace:
            sent.append((data, headers))
            return SimpleNamespace(status_code=200)

        monkeypatch.setattr(segment_request, "_session", SimpleNamespace(post=capture))
        calls(Client(write_key=await server.key("ingest"), host=BASE, sync_mode=True))
        answers = []
        for data, headers in sent:
            server.clock.advance(1)  # one call a second: the timeline's order is the calls' order
            response = await server.http.post("/v1/batch", content=data.encode(), headers=headers)
            assert response.status_code == 200, response.text
            answers.append(response.json())
        return answers

    return send


async def accounts(server: Server, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await server.api("/api/accounts", **params))["accounts"]
    return found


async def account(server: Server, key: str) -> dict[str, Any]:
    summary = next(found for found in await accounts(server) if found["key"] == key)
    story: dict[str, Any] = await server.api(f"/api/accounts/{summary['id']}")
    return story


def iso_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


async def test_group_calls_name_the_account_its_traits_and_its_usage(server: Server, sdk: Any) -> None:
    await server.load_programme(SEED_GRID + SECTION)

    def calls(client: Client) -> None:
        client.identify(user_id="u-marc", traits={"email": "marc@gmail.com"})
        traits = {"name": "ACME Industrie", "size": 800, "plan": "pro", "industry": "santé"}
        client.group(user_id="u-marc", group_id="acme-1", traits=traits)
        for _ in range(3):
            client.track(user_id="u-marc", event="report run", context={"groupId": "acme-1"})

    answers = await sdk(server, calls)
    assert sum(answer["accepted"] for answer in answers) == 5
    acme = await account(server, "group:acme-1")
    assert (acme["name"], acme["traits"]) == ("ACME Industrie", {"size": 800, "plan": "pro", "industry": "santé"})
    assert acme["scores"] == {"potential": 20.0, "health": 3.0}
    assert [(m["email"], m["source"]) for m in acme["members"]] == [("marc@gmail.com", "group")]
    marc = await server.api(f"/api/leads/{acme['members'][0]['id']}")
    assert marc["account"] == {"id": acme["id"], "key": "group:acme-1", "name": "ACME Industrie", "owner": None}
    # The merged timeline holds every member's events, newest first, each with its person.
    assert [e["name"] for e in acme["timeline"]] == ["report run"] * 3 + ["group", ""]
    assert {e["person_id"] for e in acme["timeline"]} == {acme["members"][0]["id"]}


async def test_free_mail_creates_no_account_and_a_business_domain_gathers_its_people(server: Server) -> None:
    await server.load_programme(SEED_GRID + SECTION)
    await server.beacon().form("contact", email="jean@gmail.com")
    await server.beacon().form("contact", email="julie@orange.fr")
    await server.beacon().form("contact", email="paul@hotmail.fr")
    assert await accounts(server) == []
    marc = server.beacon()
    # Two white papers and a quality post: 2 + 5 + 2 engagement, then he signs with his company address.
    await marc.download("/demo/files/livre-blanc-a.pdf")
    await marc.download("/demo/files/livre-blanc-b.pdf")
    await marc.form("contact", email="marc@atelier-marc.fr", company="Atelier Marc")
    await server.beacon().form("contact", email="sophie@atelier-marc.fr")
    # A form naming a company with a free-mail address: the company field names the account.
    await server.beacon().form("contact", email="luc@free.fr", company="Imprimerie Dupont")
    found = {a["key"]: a for a in await accounts(server)}
    assert set(found) == {"domain:atelier-marc.fr", "company:imprimerie dupont"}
    atelier = found["domain:atelier-marc.fr"]
    assert (atelier["name"], atelier["members"]) == ("atelier-marc.fr", 2)
    marc_score = (await server.person_of(marc))["scores"]["engagement"]
    assert marc_score > 0 and atelier["scores"]["potential"] == marc_score


async def test_two_people_of_a_new_company_arriving_at_once_make_one_account(server: Server) -> None:
    await server.load_programme(SEED_GRID + SECTION)
    first, second = server.beacon(), server.beacon()
    await asyncio.gather(
        first.form("contact", email="anne@nouvelle.fr"), second.form("contact", email="bruno@nouvelle.fr")
    )
    (found,) = await accounts(server)
    assert (found["key"], found["members"]) == ("domain:nouvelle.fr", 2)


async def test_a_visitor_cannot_put_itself_in_an_account(server: Server) -> None:
    await server.beacon().send({"type": "custom", "name": "report run", "props": {"group_id": "acme-1"}})
    assert await accounts(server) == []
    assert await server.count("account_members") == 0


async def test_merging_people_keeps_account_membership(server: Server, sdk: Any) -> None:
    def calls(client: Client) -> None:
        client.identify(anonymous_id="dev-1", traits={"email": "jean@gmail.com"})  # known, no account
        client.group(anonymous_id="dev-2", group_id="acme-1")  # an anonymous device of ACME
        client.identify(anonymous_id="dev-2", traits={"email": "jean@gmail.com"})  # …is Jean's
        client.identify(anonymous_id="dev-3", traits={"email": "anne@dupont.fr"})  # known, at dupont.fr
        client.group(anonymous_id="dev-4", group_id="acme-1")
        client.identify(anonymous_id="dev-4", traits={"email": "anne@dupont.fr"})

    await sdk(server, calls)
    # Jean survived the merge and took the ACME membership his other device had.
    acme = await account(server, "group:acme-1")
    assert [m["email"] for m in acme["members"]] == ["jean@gmail.com"]
    # Anne already had an account: she keeps it, and the merged-away person's membership goes.
    dupont = await account(server, "domain:dupont.fr")
    assert [m["email"] for m in dupont["members"]] == ["anne@dupont.fr"]
    assert await server.count("account_members") == 2


async def test_every_lead_of_an_account_with_an_owner_goes_to_that_owner(server: Server, sdk: Any) -> None:
    def calls(client: Client) -> None:
        client.group(anonymous_id="dev-1", group_id="acme-1", traits={"owner": "chloe"})
        client.identify(anonymous_id="dev-1", traits={"email": "paul@gmail.com"})
        client.identify(anonymous_id="dev-2", traits={"email": "nina@gmail.com"})  # no account: not routed yet

    await sdk(server, calls)
    leads = {lead["email"]: lead["id"] for lead in (await server.api("/api/leads"))["leads"]}

    async def routing(email: str) -> tuple[str | None, str | None, str | None]:
        found = (await server.api(f"/api/leads/{leads[email]}"))["routing"]
        return found["queue"], found["owner"], found["history"][0]["reason"] if found["history"] else None

    assert await routing("paul@gmail.com") == ("accounts", "chloe", "stage:known")
    assert await routing("nina@gmail.com") == (None, None, None)
    assert (await account(server, "group:acme-1"))["owner"] == "chloe"

    def later(client: Client) -> None:
        client.group(anonymous_id="dev-2", group_id="acme-1")  # Nina joins ACME: she is Chloé's now
        client.group(anonymous_id="dev-1", group_id="acme-1", traits={"owner": "david"})  # ACME changes hands

    await sdk(server, later)
    assert await routing("nina@gmail.com") == ("accounts", "david", "account")
    assert await routing("paul@gmail.com") == ("accounts", "david", "account")
    history = (await server.api(f"/api/leads/{leads['nina@gmail.com']}"))["routing"]["history"]
    assert [(h["owner"], h["reason"]) for h in history] == [("david", "account"), ("chloe", "account")]


async def test_renewal_due_is_entered_once_when_the_clock_brings_the_date_within_the_window(
    server: Server, sdk: Any
) -> None:
    await server.load_programme(SEED_GRID + SECTION)
    site = server.runtime.sites.get("demo")
    assert site is not None
    await add_webhook(server.runtime.store, site.id, "http://crm.test/hook", ACCOUNT_EVENTS, START, actor="test")
    renewal = START + 70 * DAY

    def calls(client: Client) -> None:
        client.group(user_id="u-1", group_id="acme-1", traits={"renewal_date": iso_day(renewal), "size": 900})

    await sdk(server, calls)
    assert (await account(server, "group:acme-1"))["stages"] == []
    server.clock.advance(9 * DAY)  # 61 days to go
    assert await refresh_site(server.runtime.store, site, server.clock()) == 1
    assert (await account(server, "group:acme-1"))["stages"] == []
    server.clock.advance(DAY)  # 60 days to go: due
    for _ in range(3):
        await refresh_site(server.runtime.store, site, server.clock())
        server.clock.advance(3600)
    acme = await account(server, "group:acme-1")
    assert acme["stages"] == ["renewal_due"]
    assert [h["stage"] for h in acme["stage_history"]] == ["renewal_due"]
    assert [a["key"] for a in await accounts(server, stage="renewal_due")] == ["group:acme-1"]

    async def outbox(q: Queries) -> list[tuple[str, int, Any]]:
        rows = await q.conn.fetchall("SELECT event, person_id, data FROM webhook_outbox ORDER BY id")
        return [(row["event"], row["person_id"], orjson.loads(row["data"])) for row in rows]

    announced = await server.runtime.store.read(outbox)
    # Size 900 made potential 20 at once (threshold 10); the renewal was announced once, when it came due.
    assert [(event, person, data.get("score") or data.get("stage")) for event, person, data in announced] == [
        ("account.score_crossed", 0, "potential"),
        ("account.stage_changed", 0, "renewal_due"),
    ]

    # The delivery carries the account as it is when sent, not a person.
    async def claim(q: Queries) -> list[dict[str, Any]]:
        return await q.claim_deliveries(server.clock(), server.clock() + 60, 10)

    deliveries = await server.runtime.store.write(claim)
    render = renderer(server.runtime.sites, server.clock)
    body = orjson.loads(await server.runtime.store.read(lambda q: render(q, deliveries[-1])) or b"{}")
    assert body["event"] == "account.stage_changed" and body["person"] is None
    assert (body["account"]["key"], body["account"]["stages"]) == ("group:acme-1", ["renewal_due"])


async def test_at_risk_when_usage_drops_from_one_window_to_the_next(server: Server, sdk: Any) -> None:
    risky = 'at_risk = { usage = { type = "report run" }, window = "7d", drop = 50 }\n'
    await server.load_programme(SEED_GRID + SECTION + risky)
    site = server.runtime.sites.get("demo")
    assert site is not None

    def usage(times: int) -> Calls:
        def calls(client: Client) -> None:
            for _ in range(times):
                client.track(user_id="u-1", event="report run", context={"groupId": "acme-1"})

        return calls

    await sdk(server, usage(4))  # a busy week
    assert (await account(server, "group:acme-1"))["stages"] == []  # nothing to compare with yet
    server.clock.advance(7 * DAY)
    await sdk(server, usage(1))  # then one use in the next seven days: down 75 %
    await refresh_site(server.runtime.store, site, server.clock())
    assert (await account(server, "group:acme-1"))["stages"] == ["at_risk"]
    await sdk(server, usage(4))  # back to normal
    acme = await account(server, "group:acme-1")
    assert acme["stages"] == [] and [h["stage"] for h in acme["stage_history"]] == ["at_risk"]
    assert acme["scores"]["health"] == 9.0  # every use of the last 30 days


async def test_upsell_and_score_crossed_follow_the_members_scores(server: Server) -> None:
    await server.load_programme(SEED_GRID + SECTION.replace("min = 30", "min = 9"))
    site = server.runtime.sites.get("demo")
    assert site is not None
    await add_webhook(server.runtime.store, site.id, "http://crm.test/hook", ACCOUNT_EVENTS, START, actor="test")
    marc = server.beacon()
    await marc.form("contact", email="marc@atelier-marc.fr")
    assert (await account(server, "domain:atelier-marc.fr"))["stages"] == []
    for paper in ("a", "b", "c"):
        await marc.download(f"/demo/files/livre-blanc-{paper}.pdf")
    atelier = await account(server, "domain:atelier-marc.fr")
    assert atelier["score"] >= 10 and atelier["stages"] == ["upsell"]
    events = await server.runtime.store.read(
        lambda q: q.conn.fetchall("SELECT event FROM webhook_outbox WHERE person_id = 0 ORDER BY id")
    )
    assert [row["event"] for row in events] == ["account.score_crossed", "account.stage_changed"]
    # A month without news: the members' engagement decays (50 % after 30 days), and so does the account.
    server.clock.advance(31 * DAY)
    await refresh_site(server.runtime.store, site, server.clock())
    assert (await account(server, "domain:atelier-marc.fr"))["score"] == atelier["score"] / 2


async def test_the_account_list_filters_and_pages_by_score(server: Server, sdk: Any) -> None:
    await server.load_programme(SEED_GRID + SECTION)

    def calls(client: Client) -> None:
        for n, size in enumerate((900, 10, 700, 600)):
            client.group(user_id=f"u-{n}", group_id=f"g-{n}", traits={"name": f"Firm {n}", "size": size})

    await sdk(server, calls)
    everything = await accounts(server)
    assert [(a["key"], a["score"]) for a in everything] == [
        ("group:g-3", 20.0),
        ("group:g-2", 20.0),
        ("group:g-0", 20.0),
        ("group:g-1", 0.0),
    ]
    pages, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = await server.api("/api/accounts", **params)
        pages.append([a["key"] for a in page["accounts"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [["group:g-3", "group:g-2", "group:g-0"], ["group:g-1"]]
    assert [a["key"] for a in await accounts(server, min_score=1, q="FIRM 2")] == ["group:g-2"]
    assert (await server.api("/api/accounts", expect=400, stage="churned"))["field"] == "stage"
    assert (await server.api("/api/accounts", expect=400, cursor="nope"))["field"] == "cursor"
    assert (await server.api("/api/accounts/999999", expect=404))["field"] == "account_id"
