"""Privacy: consent mode, DNT and GPC, IP truncation, retention, access and erasure."""

from __future__ import annotations

import asyncio
import re
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from tracker.app import create_app
from tracker.cli import main
from tracker.config import Settings
from tracker.domain.facts import Incoming
from tracker.domain.privacy import PrivacySettings, admit, consent_in, ip_prefix, truncate_ip
from tracker.domain.programme.checks import ProgrammeError
from tracker.errors import BadRequest
from tracker.services.privacy import PersonRef, plan_purge, run_purge
from tracker.services.site_settings import SiteChange, SiteErrors, save_settings
from tracker.store import Queries, SiteRecord, open_store
from tracker.store.privacy_queries import PERSON_REFERENCES
from tracker.web.leads import person_ref

from .conftest import BASE, CHROME, SEED_GRID, START, Beacon, Clock, Server

DAY = 86400.0
MARC = "marc@example.com"
PAGE = {"type": "page", "url": BASE + "/demo/"}
FORM = {"type": "form", "name": "newsletter", "url": BASE + "/demo/contact", "props": {"email": MARC}}
# Columns that hold a person id, whatever the table: a new one must be listed in PERSON_REFERENCES.
PERSON_COLUMN = re.compile(r"(^|_)person_id$")


def incoming(*types: str) -> list[Incoming]:
    return [Incoming(kind, 0.0) for kind in types]


# -- settings -----------------------------------------------------------------------------------


def test_settings_default_to_tracking_with_dnt_and_gpc_honoured() -> None:
    settings = PrivacySettings.from_json({"rate_limit": 5})  # other concerns' keys are ignored
    assert settings == PrivacySettings()
    assert (settings.consent, settings.dnt, settings.gpc, settings.ip) == ("none", "honour", "honour", "drop")
    assert (settings.retention_anonymous_days, settings.retention_identified_days) == (395, 1095)
    assert PrivacySettings.from_json({"retention_identified_days": None}).retention_identified_days is None


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ({"consent": "maybe"}, "settings.consent"),
        ({"gpc": True}, "settings.gpc"),
        ({"ip": "keep"}, "settings.ip"),
        ({"retention_anonymous_days": 0}, "settings.retention_anonymous_days"),
        ({"retention_anonymous_days": None}, "settings.retention_anonymous_days"),
        ({"retention_identified_days": "30"}, "settings.retention_identified_days"),
    ],
)
def test_bad_settings_name_the_key(raw: dict[str, Any], where: str) -> None:
    with pytest.raises(ProgrammeError) as caught:
        PrivacySettings.from_json(raw)
    assert caught.value.where == where


async def test_saved_settings_reach_the_running_site(server: Server) -> None:
    saved = PrivacySettings.from_json((await save_privacy(server, consent="required", ip="truncate")).settings)
    assert (saved.consent, saved.ip, saved.dnt) == ("required", "truncate", "honour")
    await save_privacy(server, retention_identified_days=None)
    await server.runtime.sites.refresh()
    site = server.runtime.sites.get("demo")
    assert site is not None
    policy = site.privacy
    assert (policy.consent, policy.ip, policy.retention_identified_days) == ("required", "truncate", None)
    with pytest.raises(SiteErrors) as caught:
        await save_privacy(server, consent="sometimes")
    assert caught.value.errors == {"consent": "'sometimes' is not one of none, required"}
    with pytest.raises(SiteErrors):
        await save_privacy(server, "nope")


# -- the gate (pure) ----------------------------------------------------------------------------


def test_consent_is_read_from_the_beacon_context() -> None:
    assert consent_in({"ctx": {"consent": True}}) is True
    assert consent_in({"ctx": {"consent": False}}) is False
    for unanswered in ({}, {"ctx": {}}, {"ctx": {"consent": "1"}}, {"ctx": []}, []):
        assert consent_in(unanswered) is None


def test_a_consent_required_site_keeps_nothing_without_consent() -> None:
    required = PrivacySettings(consent="required")
    events = incoming("page", "form", "identify")
    for consent in (None, False):
        admitted = admit(required, consent, {}, events)
        assert (admitted.events, admitted.withheld, admitted.reason) == ([], 3, "consent")
    assert admit(required, True, {}, events).events == events
    assert admit(PrivacySettings(), None, {}, events).events == events


@pytest.mark.parametrize(("header", "reason"), [("dnt", "dnt"), ("sec-gpc", "gpc")])
def test_dnt_and_gpc_withhold_passive_events_but_not_forms(header: str, reason: str) -> None:
    passive = ("page", "engaged", "click", "download", "outbound", "custom", "impression", "close", "conversion")
    events = incoming(*passive, "form", "identify", "chat")
    admitted = admit(PrivacySettings(), None, {header: "1"}, events)
    assert [e.type for e in admitted.events] == ["form", "identify", "chat"]
    assert (admitted.withheld, admitted.reason) == (len(passive), reason)
    # Only "1" is the signal; "0" says the visitor allows tracking.
    assert admit(PrivacySettings(), None, {header: "0"}, events).events == events
    ignored = PrivacySettings(dnt="ignore", gpc="ignore")
    assert admit(ignored, None, {header: "1"}, events).events == events
    # Consent the visitor gave on this site is their more specific answer.
    assert admit(PrivacySettings(), True, {header: "1"}, events).events == events


def test_nothing_is_reported_withheld_when_only_forms_came() -> None:
    admitted = admit(PrivacySettings(), None, {"sec-gpc": "1"}, incoming("form"))
    assert (len(admitted.events), admitted.withheld, admitted.reason) == (1, 0, "")


def test_ip_addresses_are_truncated_or_dropped() -> None:
    assert truncate_ip(ip_address("203.0.113.77")) == "203.0.113.0/24"
    assert truncate_ip(ip_address("2001:db8:1:2:3:4:5:6")) == "2001:db8:1::/48"
    assert truncate_ip(ip_address("::ffff:198.51.100.9")) == "198.51.100.0/24"
    assert ip_prefix(PrivacySettings(), ip_address("203.0.113.77")) is None
    assert ip_prefix(PrivacySettings(ip="truncate"), ip_address("203.0.113.77")) == "203.0.113.0/24"
    assert ip_prefix(PrivacySettings(ip="truncate"), None) is None


def test_a_person_is_named_one_way() -> None:
    assert person_ref("12", None, None) == PersonRef("id", "12")
    assert person_ref(None, "  Marc@Example.COM ", None) == PersonRef("email", MARC)
    assert person_ref(None, None, " u-1 ") == PersonRef("user_id", "u-1")
    for args, field in (
        ((None, None, None), "email"),
        ((None, MARC, "u-1"), "email"),
        (("12x", None, None), "person_id"),
        (("9" * 19, None, None), "person_id"),
        (("²", None, None), "person_id"),  # passes str.isdigit(): was a 500 from int()
        ((None, "a\x00b@example.com", None), "email"),  # NUL: was a 500 on PostgreSQL
        ((None, None, "u\x001"), "user_id"),
        ((None, "not-an-email", None), "email"),
        ((None, None, "null"), "user_id"),
    ):
        with pytest.raises(BadRequest) as caught:
            person_ref(*args)
        assert caught.value.field == field


# -- /collect -----------------------------------------------------------------------------------


async def collect(
    server: Server, *events: dict[str, Any], headers: dict[str, str] | None = None, **envelope: Any
) -> httpx.Response:
    body = {"site": "demo", "events": list(events), **envelope}
    response = await server.http.post("/collect", json=body, headers={"user-agent": CHROME, **(headers or {})})
    server.http.cookies.clear()
    return response


async def stored(server: Server) -> dict[str, int]:
    return {table: await server.count(table) for table in ("persons", "visitors", "events", "ledger")}


NOTHING = {"persons": 0, "visitors": 0, "events": 0, "ledger": 0}


async def save_privacy(server: Server, site: str = "demo", **settings: Any) -> SiteRecord:
    change = SiteChange(privacy=settings)
    return await save_settings(server.runtime.store, site, change, create=False, actor="test", now=server.clock())


async def use_privacy(server: Server, **settings: Any) -> None:
    await save_privacy(server, **settings)
    await server.runtime.sites.refresh()


async def test_consent_required_keeps_nothing_and_sets_no_cookie_before_consent(server: Server) -> None:
    await use_privacy(server, consent="required")
    for ctx in ({}, {"screen": "desktop"}):
        response = await collect(server, PAGE, FORM, ctx=ctx)
        assert response.status_code == 200
        assert response.json() == {"vid": None, "decisions": [], "rejected": [], "ignored": "consent"}
        assert "set-cookie" not in response.headers
    assert await stored(server) == NOTHING

    response = await collect(server, PAGE, ctx={"consent": True})
    assert response.json()["vid"] and "tk_vid=" in response.headers["set-cookie"]
    assert (await stored(server))["events"] == 1


async def test_withdrawing_consent_expires_the_cookie_and_keeps_nothing(server: Server) -> None:
    granted = await collect(server, PAGE, ctx={"consent": True})
    token = granted.json()["vid"]
    before = await stored(server)
    # What the beacon sends on tracker.consent(false): no events, consent false.
    response = await collect(
        server, ctx={"consent": False}, headers={"cookie": f"tk_vid={token}", "origin": "https://elsewhere.test"}
    )
    assert response.status_code == 200
    assert response.json()["ignored"] == "consent" and response.json()["vid"] is None
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("tk_vid=;") and "Max-Age=0" in cookie and "HttpOnly" in cookie
    assert response.headers["access-control-allow-origin"] == "https://elsewhere.test"
    # Events sent along with a withdrawal are not kept either.
    await collect(server, PAGE, ctx={"consent": False})
    assert await stored(server) == before


@pytest.mark.parametrize(("header", "setting"), [("dnt", "dnt"), ("sec-gpc", "gpc")])
async def test_dnt_and_gpc_drop_page_views_but_process_forms(server: Server, header: str, setting: str) -> None:
    signal = {header: "1"}
    response = await collect(
        server, PAGE, {"type": "engaged", "url": BASE + "/", "props": {"seconds": 9}}, headers=signal
    )
    assert response.json()["ignored"] == setting and "set-cookie" not in response.headers
    assert await stored(server) == NOTHING

    # The newsletter sign-up of a DNT/GPC visitor still identifies them (double opt-in needs it).
    response = await collect(server, PAGE, FORM, headers=signal)
    assert response.json()["vid"] and "ignored" not in response.json()
    lead = (await server.api("/api/leads", stage="known"))["leads"]
    assert [person["email"] for person in lead] == [MARC]
    assert await server.count("events") == 1  # the form, not the page view

    await use_privacy(server, **{setting: "ignore"})
    await collect(server, PAGE, headers=signal)
    assert await server.count("events") == 2


async def test_client_address_is_dropped_or_truncated_and_user_agent_reduced(server: Server) -> None:
    transport = httpx.ASGITransport(app=server.app, client=("203.0.113.77", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        dropped = Beacon(http)
        await dropped.page("/demo/")
        await use_privacy(server, ip="truncate")
        truncated = Beacon(http)
        await truncated.page("/demo/")
        await truncated.page("/demo/produits")

    rows = await server.runtime.store.read(lambda q: q.conn.fetchall("SELECT ip_prefix FROM visitors ORDER BY id"))
    assert sorted(str(row["ip_prefix"]) for row in rows) == ["203.0.113.0/24", "None"]
    assert await occurrences(server, "203.0.113.77") == []
    assert await occurrences(server, "Mozilla/5.0") == []  # device type and browser family only


# -- schema introspection -----------------------------------------------------------------------


async def schema(server: Server) -> dict[str, list[str]]:
    """Every table of the live schema and its columns (SQLite or PostgreSQL); views hold no rows of their own."""

    async def read(q: Queries) -> dict[str, list[str]]:
        if q.conn.dialect == "sqlite":
            tables = await q.conn.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {
                t["name"]: [c["name"] for c in await q.conn.fetchall(f"PRAGMA table_info({t['name']})")] for t in tables
            }
        found: dict[str, list[str]] = {}
        for row in await q.conn.fetchall(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t"
            " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
            " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
        ):
            found.setdefault(row["table_name"], []).append(row["column_name"])
        return found

    return await server.runtime.store.read(read)


async def occurrences(server: Server, text: str) -> list[str]:
    """Every table.column, in the whole database, holding ``text`` anywhere in a value."""
    tables = await schema(server)

    async def scan(q: Queries) -> list[str]:
        hits = []
        for table, columns in tables.items():
            for column in columns:
                sql = f"SELECT COUNT(*) FROM {table} WHERE CAST({column} AS TEXT) LIKE ?"
                if await q.conn.fetchval(sql, f"%{text}%"):
                    hits.append(f"{table}.{column}")
        return hits

    return await server.runtime.store.read(scan)


async def referring_rows(server: Server, person_ids: list[int]) -> dict[str, int]:
    """Rows in any table whose person-id column holds one of ``person_ids`` (persons.id and aliases.old_id too)."""
    columns = [(t, c) for t, cs in (await schema(server)).items() for c in cs if PERSON_COLUMN.search(c)]
    columns += [("persons", "id"), ("aliases", "old_id")]
    marks = ", ".join("?" for _ in person_ids)

    async def count(q: Queries) -> dict[str, int]:
        return {
            f"{t}.{c}": int(await q.conn.fetchval(f"SELECT COUNT(*) FROM {t} WHERE {c} IN ({marks})", *person_ids))
            for t, c in columns
        }

    return await server.runtime.store.read(count)


async def still_referring(server: Server, person_ids: list[int]) -> dict[str, int]:
    return {column: count for column, count in (await referring_rows(server, person_ids)).items() if count}


async def test_every_person_id_column_is_listed_for_erasure(server: Server) -> None:
    """A table added later with a person_id fails here until PERSON_REFERENCES lists it."""
    live = {(t, c) for t, columns in (await schema(server)).items() for c in columns if PERSON_COLUMN.search(c)}
    assert live, "the schema has person_id columns"
    assert live == {(t, c) for t, c in PERSON_REFERENCES if c != "id"}
    assert PERSON_REFERENCES[-1] == ("persons", "id")


# -- access and erasure -------------------------------------------------------------------------


async def marc_on_two_devices(server: Server) -> tuple[int, int]:
    """Marc browses anonymously on a laptop, signs up on his phone, then identifies on the laptop:
    the laptop's anonymous person is merged into him.  Returns (Marc's id, the merged-away id)."""
    laptop, phone = server.beacon(), server.beacon()
    await laptop.page("/demo/", title="Accueil")
    await laptop.download("/demo/files/livre-blanc-a.pdf")
    await laptop.download("/demo/files/livre-blanc-b.pdf")
    merged_away = (await server.api(f"/api/visitors/{laptop.vid}"))["person_id"]
    await phone.form("newsletter", email=MARC, company="Atelier Marc")
    for slug in ("precision", "controle", "service"):
        await laptop.page(f"/demo/blog/qualite/{slug}")
    await laptop.form("popup-demo", email=MARC)
    marc = await server.person_of(phone)
    assert marc["merged_ids"] == [merged_away] and marc["stage"] == "sql"
    return int(marc["id"]), int(merged_away)


async def someone_else(server: Server) -> int:
    other = server.beacon()
    await other.download("/demo/files/livre-blanc-b.pdf")
    await other.form("newsletter", email="elodie@example.com")
    return int((await server.api(f"/api/visitors/{other.vid}"))["person_id"])


async def privacy_call(server: Server, method: str, path: str, expect: int = 200, **params: Any) -> Any:
    key = await server.key("admin")
    response = await server.http.request(method, path, params=params, headers={"authorization": f"Bearer {key}"})
    assert response.status_code == expect, response.text
    return response.json()


async def audit(server: Server) -> list[dict[str, Any]]:
    """The demo site's entries about people (its settings changes are audited too)."""
    site = server.runtime.sites.get("demo")
    assert site is not None
    entries = await server.runtime.store.read(lambda q: q.audit_entries(site.id, 100))
    return [entry for entry in entries if not entry["action"].startswith("site_")]


async def test_export_holds_everything_about_the_person(server: Server) -> None:
    marc, merged_away = await marc_on_two_devices(server)
    await use_privacy(server, ip="truncate")
    await server.beacon().page("/demo/")  # someone else, not in Marc's export

    export = await privacy_call(server, "GET", f"/api/people/{merged_away}/export")  # an old id finds him
    assert (export["id"], export["email"], export["stage"]) == (marc, MARC, "sql")
    assert export["merged_ids"] == [merged_away] and export["profile"]["company"] == "Atelier Marc"
    data = export["data"]
    assert set(data) == {table for table, _ in PERSON_REFERENCES}
    assert [row["email"] for row in data["persons"]] == [MARC]
    assert len(data["visitors"]) == 2 and {row["person_id"] for row in data["visitors"]} == {marc}
    assert len(data["events"]) == 8  # every event of both devices, not a page of them
    assert data["events"][1]["props"] == {"page": BASE + "/demo/"}  # JSON columns come decoded
    assert data["events"][0]["props"] == {"title": "Accueil"} and "title" not in data["events"][0]  # as sent
    assert data["aliases"] == [{"old_id": merged_away, "person_id": marc, "merged_at": START}]
    assert data["ledger"] and data["stages"] and data["decisions"] and data["person_scores"]
    assert await privacy_call(server, "GET", "/api/people", email="MARC@example.com") == export

    entries = await audit(server)
    assert [(e["action"], e["subject"], e["actor"].startswith("key:")) for e in entries] == [("export", marc, True)] * 2
    assert [e["detail"] for e in entries] == [{"via": "email"}, {"via": "id"}]


async def test_erasure_leaves_no_row_pointing_at_the_person(server: Server) -> None:
    marc, merged_away = await marc_on_two_devices(server)
    elodie = await someone_else(server)
    elodie_before = await referring_rows(server, [elodie])

    erased = await privacy_call(server, "DELETE", f"/api/people/{marc}")
    assert erased["erased"] == marc and erased["merged_ids"] == [merged_away]
    assert erased["deleted"]["persons"] == 1 and erased["deleted"]["events"] == 8

    assert await still_referring(server, [marc, merged_away]) == {}
    assert await referring_rows(server, [elodie]) == elodie_before  # nobody else loses anything
    # Not a trace of the e-mail or the company anywhere, the audit log included.
    for personal in (MARC, "Atelier Marc"):
        assert await occurrences(server, personal) == []
    [entry] = await audit(server)
    assert (entry["action"], entry["subject"], entry["detail"]["via"]) == ("erase", marc, "id")
    assert entry["detail"]["deleted"] == erased["deleted"]

    await privacy_call(server, "DELETE", f"/api/people/{marc}", expect=404)
    await privacy_call(server, "GET", f"/api/people/{merged_away}/export", expect=404)
    await server.api(f"/api/leads/{marc}", expect=404)


async def test_erasure_leaves_no_trace_of_the_urls_only_the_person_visited(server: Server) -> None:
    """A query string may hold personal data: a URL goes with the last event that named it, as a page
    or as a referrer; one that someone else's event names too stays, whichever way it names it."""
    secret_page, secret_referrer = BASE + "/demo/?email=x@y.example", "https://mail.example/?to=x@y.example"
    marc, elodie = server.beacon(), server.beacon()
    await marc.send({"type": "page", "url": secret_page, "ref": secret_referrer, "title": "Devis de x@y.example"})
    await marc.send(
        {"type": "page", "url": BASE + "/demo/blog/", "ref": BASE + "/demo/tarifs", "title": "Lu par m-7f3"}
    )
    await elodie.send({"type": "page", "url": BASE + "/demo/tarifs", "ref": BASE + "/demo/blog/", "title": "Tarifs"})
    marc_id = (await server.person_of(marc))["id"]
    assert await occurrences(server, "x@y.example") == ["urls.text", "urls.title"]  # a title goes with its page

    await privacy_call(server, "DELETE", f"/api/people/{marc_id}")
    assert await occurrences(server, "x@y.example") == [] and await occurrences(server, "m-7f3") == []
    [event] = (await server.person_of(elodie))["timeline"]
    assert (event["url"], event["referrer"], event["props"]) == (
        BASE + "/demo/tarifs",
        BASE + "/demo/blog/",
        {"title": "Tarifs"},
    )
    assert await server.count("urls") == 2


async def test_erasure_leaves_no_trace_of_a_device_trimmed_from_the_person(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device trimmed from a person (abuse.MAX_DEVICES) keeps its events, named by its id: the id
    goes with the person."""
    monkeypatch.setattr("tracker.services.ingest.MAX_DEVICES", 2)
    browsers = []
    for _ in range(3):
        browser = server.beacon()
        await browser.page("/demo/")
        await browser.form("newsletter", email=MARC)
        browsers.append(browser)
        await server.beacon().page("/demo/")  # someone else in between, as in test_abuse
        server.clock.advance(60)
    lead = await server.person_of(browsers[-1])
    assert browsers[0].vid is not None
    trimmed = browsers[0].vid.partition(".")[0]
    assert trimmed not in {device["id"] for device in lead["devices"]}
    assert trimmed in {event["device"] for event in lead["timeline"]}
    assert "former_devices.id" in await occurrences(server, trimmed)

    await privacy_call(server, "DELETE", f"/api/people/{lead['id']}")
    assert await occurrences(server, trimmed) == []


async def test_erasure_by_email_or_user_id(server: Server) -> None:
    await marc_on_two_devices(server)
    erased = await privacy_call(server, "DELETE", "/api/people", email=" Marc@Example.com")
    assert await still_referring(server, [erased["erased"], *erased["merged_ids"]]) == {}
    assert (await audit(server))[0]["detail"]["via"] == "email"
    await privacy_call(server, "DELETE", "/api/people", email=MARC, expect=404)
    await privacy_call(server, "DELETE", "/api/people", email="null", expect=400)
    await privacy_call(server, "DELETE", "/api/people", expect=400)
    await privacy_call(server, "DELETE", "/api/people", user_id="u-404", expect=404)


async def test_access_and_erasure_need_an_admin_key_of_the_site(server: Server) -> None:
    marc, _ = await marc_on_two_devices(server)
    sales = await server.key("sales")
    response = await server.http.delete(f"/api/people/{marc}", headers={"authorization": f"Bearer {sales}"})
    assert response.status_code == 403
    response = await server.http.get(f"/api/people/{marc}/export")
    assert response.status_code == 401
    await server.load_programme(SEED_GRID, site="other")
    other_admin = await server.key("admin", site="other")
    response = await server.http.delete(f"/api/people/{marc}", headers={"authorization": f"Bearer {other_admin}"})
    assert response.status_code == 404
    assert await server.count("persons") == 1 and await audit(server) == []


# -- retention ----------------------------------------------------------------------------------


async def people(server: Server, count: int, *, email: str | None = None) -> None:
    for n in range(count):
        visitor = server.beacon()
        await visitor.page(f"/demo/{n}")
        if email:
            await visitor.form("newsletter", email=f"{n}-{email}")


async def test_retention_purges_inactive_people_in_batches(server: Server) -> None:
    await use_privacy(server, retention_anonymous_days=30, retention_identified_days=90)
    await people(server, 5)
    await people(server, 2, email=MARC)
    server.clock.advance(31 * DAY)
    await people(server, 1)  # active: kept
    store, now = server.runtime.store, server.clock()

    targets = await plan_purge(store, now)
    assert [(t.site_key, t.kind, t.days, t.count) for t in targets] == [
        ("demo", "anonymous", 30, 5),
        ("demo", "identified", 90, 0),
    ]
    batches: list[int] = []
    purged = await run_purge(store, targets, now=now, actor="cli", batch=2, progress=batches.append)
    assert purged == {("demo", "anonymous"): 5} and batches == [2, 2, 1]
    assert (await server.api("/api/leads", stage="anonymous"))["leads"][0]["last_seen_at"] == "2026-02-01T00:00:00Z"
    assert await server.count("persons") == 3 and await server.count("events") == 5  # 1 page + 2 × (page, form)
    [entry] = await audit(server)
    assert (entry["actor"], entry["action"], entry["subject"]) == ("cli", "purge", None)
    assert entry["detail"] == {"anonymous": 5, "anonymous_days": 30}

    server.clock.advance(60 * DAY)
    purged = await run_purge(store, await plan_purge(store, server.clock()), now=server.clock(), actor="cli")
    assert purged == {("demo", "anonymous"): 1, ("demo", "identified"): 2}
    assert await still_referring(server, list(range(1, 20))) == {}
    assert await server.count("urls") == 0  # the pages only purged people visited went with them


async def test_identified_people_can_be_kept_until_erased(server: Server) -> None:
    await use_privacy(server, retention_identified_days=None)
    await people(server, 1, email=MARC)
    server.clock.advance(5000 * DAY)
    targets = await plan_purge(server.runtime.store, server.clock())
    assert [t.kind for t in targets] == ["anonymous"]
    await run_purge(server.runtime.store, targets, now=server.clock(), actor="cli")
    assert await server.count("persons") == 1
    with pytest.raises(LookupError):
        await plan_purge(server.runtime.store, server.clock(), "nope")


async def test_the_server_purges_on_its_own_and_stops_cleanly(tmp_path: Path, database: str | None) -> None:
    clock = Clock()
    settings = Settings(data_dir=tmp_path, db=database, demo=True, secret="test-secret")
    app = create_app(settings, clock=clock, purge_every=0.02)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            await Beacon(http).page("/demo/")
            server = Server(app, http, clock)
            clock.advance(396 * DAY)
            # The audit entry is written once the last batch is committed.
            for _ in range(200):
                if await audit(server):
                    break
                await asyncio.sleep(0.02)
            assert [(e["actor"], e["action"]) for e in await audit(server)] == [("scheduler", "purge")]
            assert await server.count("persons") == 0 and await server.count("events") == 0
    task_names = {task.get_name() for task in asyncio.all_tasks()}
    assert "retention-purge" not in task_names


# -- command line -------------------------------------------------------------------------------


def test_sites_add_sets_privacy_and_purge_reports_progress(tmp_path: Path) -> None:
    data = str(tmp_path)
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["sites", "add", "acme", "--consent", "required", "--ip", "truncate", "--gpc", "ignore",
         "--retention-anonymous-days", "30", "--retention-identified-days", "never", "--data-dir", data],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "consent required, DNT honour, GPC ignore, IP truncate" in result.output
    assert "30 days if anonymous, forever if identified" in result.output
    result = runner.invoke(main, ["sites", "add", "acme", "--name", "Acme", "--data-dir", data])
    assert "consent required" in result.output  # options not given keep their value
    result = runner.invoke(main, ["sites", "add", "acme", "--retention-identified-days", "0", "--data-dir", data])
    assert result.exit_code == 2 and "--retention-identified-days" in result.output

    async def seed() -> None:
        store = open_store(str(tmp_path / "tracker.db"))
        await store.open()
        try:

            async def old_visitors(q: Queries) -> None:
                site = await q.site_by_key("acme")
                assert site is not None
                for _ in range(3):
                    await q.insert_person(site.id, 0.0)

            await store.write(old_visitors)
        finally:
            await store.close()

    asyncio.run(seed())
    result = runner.invoke(main, ["purge", "--dry-run", "--data-dir", data])
    assert result.exit_code == 0 and "acme: 3 anonymous people inactive for over 30 days" in result.output
    assert "purged" not in result.output
    result = runner.invoke(main, ["purge", "--site", "acme", "--data-dir", data])
    assert result.exit_code == 0 and "purged 3 people" in result.output and "people/s" in result.output
    result = runner.invoke(main, ["purge", "--data-dir", data])
    assert "acme: 0 anonymous" in result.output
    result = runner.invoke(main, ["purge", "--site", "nope", "--data-dir", data])
    assert result.exit_code == 1 and "no site 'nope'" in result.output

    result = runner.invoke(main, ["audit", "--site", "acme", "--data-dir", data])
    assert result.exit_code == 0
    purge, *changes = result.output.splitlines()  # newest first: the purge, then the site's settings
    assert re.fullmatch(r'\S+Z cli purge \{"anonymous": 3, "anonymous_days": 30\}', purge), result.output
    assert [line.split()[2] for line in changes] == ["site_update", "site_create"]
    assert runner.invoke(main, ["audit", "--site", "nope", "--data-dir", data]).exit_code == 1
