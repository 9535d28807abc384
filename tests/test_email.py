"""E-mail links over HTTP (tracker.web.email, tracker.services.email_links), on both backends:
minting in bulk, a click's redirect and what it records, opens, scanners and privacy proxies,
re-identifying a browser without ever merging two identified people."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from itsdangerous import URLSafeSerializer

from tracker.domain.email_links import LINK_SECONDS, LinkError, _ShortHMAC, safe_target
from tracker.domain.facts import Event
from tracker.services.site_settings import SiteChange, SiteErrors, save_settings
from tracker.web.email import MAX_BODY

from .conftest import BASE, CHROME, Beacon, Server
from .test_openapi import schema_at

PROGRAMME = """
[scores.engagement]
mql = 8
sql = 12

[[rules]]
id = "newsletter-click"
score = "engagement"
when = { type = "email_click", name = "newsletter-nov" }
points = 5
limit = "always"

[[rules]]
id = "opened"
score = "engagement"
when = { type = "email_open" }
points = 1
limit = "always"

[[rules]]
id = "page"
score = "engagement"
when = { type = "page" }
points = 2
limit = "always"
"""
TARGET = "https://www.acme.fr/blog/imprimantes?utm_source=newsletter"
HOME = BASE + "/"
APPLE_PROXY = "Mozilla/5.0"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"


@pytest.fixture
async def site(server: Server) -> Server:
    await server.load_programme(PROGRAMME, origins=[BASE])
    return server


async def known(server: Server, email: str) -> tuple[Beacon, int]:
    """A person the site knows by ``email``, and the browser they identified on."""
    beacon = server.beacon()
    await beacon.form("contact", email=email)
    lead = await server.person_of(beacon)
    return beacon, int(lead["id"])


async def mint(server: Server, body: Any, expect: int = 201, role: str = "marketing") -> Any:
    key = await server.key(role)
    response = await server.http.post("/api/email-links", json=body, headers={"authorization": f"Bearer {key}"})
    assert response.status_code == expect, response.text
    return response.json()


async def link_for(server: Server, email: str, url: str = TARGET, campaign: str = "newsletter-nov") -> dict[str, Any]:
    minted = await mint(server, {"campaign": campaign, "urls": [url], "recipients": [email]})
    [row] = minted["links"]
    server.clock.advance(3600)  # the message is read an hour after it was sent
    return dict(row)


async def follow(
    server: Server, url: str, *, cookie: str | None = None, agent: str = CHROME, **headers: str
) -> httpx.Response:
    sent = {"user-agent": agent, **headers}
    if cookie:
        sent["cookie"] = f"tk_vid={cookie}"
    response = await server.http.get(url.removeprefix(BASE), headers=sent)
    server.http.cookies.clear()
    return response


async def events_of(server: Server, person_id: int, kind: str) -> list[Event]:
    events = await server.runtime.store.read(lambda q: q.events_of(person_id))
    return [event for event in events if event.type == kind]


async def score(server: Server, person_id: int) -> float:
    person = await server.runtime.store.read(lambda q: q.person(person_id))
    assert person is not None
    return person.scoring.values.get("engagement", 0.0)


async def test_a_click_redirects_to_its_url_records_and_scores_it_and_joins_the_new_browser(site: Server) -> None:
    _, marc = await known(site, "marc@acme.fr")
    row = await link_for(site, "marc@acme.fr")
    assert row["person_id"] == marc and row["clicks"][0].startswith(BASE + "/r/")
    before = await score(site, marc)

    response = await follow(site, row["clicks"][0])  # a phone that never saw the site
    assert response.status_code == 302
    assert response.headers["location"] == TARGET
    assert "no-store" in response.headers["cache-control"]
    [click] = await events_of(site, marc, "email_click")
    assert (click.name, click.url, dict(click.props)) == ("newsletter-nov", TARGET, {})
    assert await score(site, marc) == before + 5

    # The phone now carries Marc's device: its next page view is his.
    phone = site.beacon()
    phone.cookie = response.cookies["tk_vid"]
    await phone.page("/demo/")
    assert (await site.person_of(phone))["id"] == marc
    assert await score(site, marc) == before + 5 + 2


async def test_tampered_and_expired_links_go_home_and_record_nothing(site: Server) -> None:
    _, marc = await known(site, "marc@acme.fr")
    click = (await link_for(site, "marc@acme.fr"))["clicks"][0]
    payload, _, signature = click.rpartition(".")
    flipped = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    events = await site.count("events")
    for url in (flipped, click[:-3], click + "x", BASE + "/r/garbage", BASE + "/r/." + "x" * 4000):
        response = await follow(site, url)
        assert (response.status_code, response.headers["location"]) == (302, HOME), url
        assert "set-cookie" not in response.headers
    site.clock.advance(LINK_SECONDS)
    response = await follow(site, click)
    assert (response.status_code, response.headers["location"]) == (302, HOME)
    assert await site.count("events") == events
    assert await events_of(site, marc, "email_click") == []


async def test_the_home_is_the_sites_setting_when_it_has_one(site: Server) -> None:
    async def set_home(home: str) -> None:
        await save_settings(site.runtime.store, "demo", SiteChange(home=home), create=False, actor="cli", now=0.0)
        await site.runtime.sites.refresh()

    with pytest.raises(SiteErrors) as refused:
        await set_home("javascript:alert(1)")
    assert refused.value.field == "home"
    await set_home("https://www.acme.fr/accueil")
    response = await follow(site, BASE + "/r/forged.token")
    assert response.headers["location"] == "https://www.acme.fr/accueil"
    await set_home("")
    assert (await follow(site, BASE + "/r/forged.token")).headers["location"] == HOME


EVIL = [
    "//evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "https:/\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "%2F%2Fevil.example",
    "https:%2F%2Fevil.example",
    "https://www.acme.fr@evil.example/",
    "https://user:pass@evil.example/",
    "https://evil.example%40www.acme.fr/",
    "ftp://evil.example/",
    "https://www.acme.fr\n.evil.example/",
    "https://evil.example\\@www.acme.fr/",
]


@pytest.mark.parametrize("url", EVIL)
def test_minting_refuses_what_a_browser_could_read_as_another_destination(url: str) -> None:
    with pytest.raises(LinkError):
        safe_target(url)


async def test_no_open_redirect_to_a_url_that_is_not_in_a_genuine_token(site: Server) -> None:
    await known(site, "marc@acme.fr")
    for index, url in enumerate(EVIL[:4]):
        refused = await mint(site, {"campaign": "c", "urls": [TARGET, url], "recipients": ["marc@acme.fr"]}, 400)
        assert refused["field"] == "urls[1]", index
    click = (await link_for(site, "marc@acme.fr"))["clicks"][0]
    # Parameters and paths added to a genuine link change nothing.
    response = await follow(site, click + "?url=https://evil.example&next=//evil.example")
    assert response.headers["location"] == TARGET
    # Tokens naming an evil URL, signed with another secret or (a bug's) right secret, still go home.
    demo = site.runtime.sites.get("demo")
    assert demo is not None
    for secret in ("another-secret", "test-secret"):
        forger = URLSafeSerializer(secret, salt="tracker.email-click", signer_kwargs={"algorithm": _ShortHMAC()})
        for url in ("//evil.example", "javascript:alert(1)", "https://a@evil.example"):
            token = forger.dumps([demo.id, 1, "c", url, int(site.clock())])
            response = await follow(site, f"{BASE}/r/{token}")
            assert response.headers["location"] == HOME, (secret, url)
    # An open pixel's token is no click token.
    opened = (await mint(site, {"campaign": "c", "urls": [TARGET], "recipients": ["marc@acme.fr"]}))["links"][0]
    token = opened["open"].removeprefix(BASE + "/o/").removesuffix(".gif")
    assert (await follow(site, f"{BASE}/r/{token}")).headers["location"] == HOME


async def test_an_open_is_a_gif_nobody_caches_and_scores(site: Server) -> None:
    _, marc = await known(site, "marc@acme.fr")
    row = await link_for(site, "marc@acme.fr")
    before = await score(site, marc)
    response = await follow(site, row["open"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
    assert response.content.startswith(b"GIF89a") and len(response.content) < 64
    assert "no-store" in response.headers["cache-control"] and response.headers["pragma"] == "no-cache"
    [opened] = await events_of(site, marc, "email_open")
    assert (opened.name, dict(opened.props)) == ("newsletter-nov", {})
    assert await score(site, marc) == before + 1
    # A forged pixel is still a GIF, and records nothing.
    forged = await follow(site, BASE + "/o/forged.gif")
    assert forged.status_code == 200 and forged.content == response.content
    assert len(await events_of(site, marc, "email_open")) == 1


async def test_scanner_clicks_and_prefetched_opens_are_recorded_flagged_and_not_scored(site: Server) -> None:
    _, marc = await known(site, "marc@acme.fr")
    minted = await mint(site, {"campaign": "newsletter-nov", "urls": [TARGET], "recipients": ["marc@acme.fr"]})
    row = minted["links"][0]
    before = await score(site, marc)
    # Apple Mail Privacy Protection fetches the pixel on delivery; a gateway follows the link a second later.
    await follow(site, row["open"], agent=APPLE_PROXY)
    site.clock.advance(1)
    soon = await follow(site, row["clicks"][0])
    assert soon.headers["location"] == TARGET and "set-cookie" not in soon.headers
    site.clock.advance(3600)
    scanned = await follow(site, row["clicks"][0], agent=SCANNER)
    assert scanned.headers["location"] == TARGET and "set-cookie" not in scanned.headers
    site.runtime.guard.trusted_proxy = True
    cloud = await follow(site, row["clicks"][0], **{"x-forwarded-for": "52.96.10.20"})
    assert "set-cookie" not in cloud.headers
    [opened] = await events_of(site, marc, "email_open")
    clicks = await events_of(site, marc, "email_click")
    assert dict(opened.props) == {"flagged": "prefetch"}
    assert [click.props["flagged"] for click in clicks] == ["too_soon", "scanner", "data_centre"]
    assert await score(site, marc) == before
    # The person's own click, from home, later: scored.
    await follow(site, row["clicks"][0], **{"x-forwarded-for": "90.12.34.56"})
    assert await score(site, marc) == before + 5

    # A programme may choose to score them anyway: a replay now counts them too.
    await site.load_programme(PROGRAMME + "\n[email]\nscore_flagged = true\n", origins=[BASE])
    site.clock.advance(3600)
    await follow(site, row["open"], agent=APPLE_PROXY)
    assert await score(site, marc) == before + 5 + 1


async def test_an_anonymous_browser_joins_the_person_with_its_history(site: Server) -> None:
    _, marc = await known(site, "marc@acme.fr")
    laptop = site.beacon()
    await laptop.page("/demo/produits")  # browsed anonymously before reading the newsletter
    anonymous = (await site.person_of(laptop))["id"]
    assert anonymous != marc
    before = await score(site, marc)
    row = await link_for(site, "marc@acme.fr")
    response = await follow(site, row["clicks"][0], cookie=laptop.cookie)
    assert response.headers["location"] == TARGET
    assert response.cookies["tk_vid"] == laptop.cookie  # same device, now Marc's
    assert (await site.person_of(laptop))["id"] == marc
    assert await score(site, marc) == before + 2 + 5  # the anonymous page view was replayed into his score


async def test_a_click_never_merges_two_identified_people(site: Server) -> None:
    _, marc = await known(site, "marc@acme.fr")
    elodie_browser, elodie = await known(site, "elodie@acme.fr")
    elodie_score = await score(site, elodie)
    row = await link_for(site, "marc@acme.fr")  # Marc forwarded his newsletter to Élodie
    response = await follow(site, row["clicks"][0], cookie=elodie_browser.cookie)
    assert response.headers["location"] == TARGET
    assert "set-cookie" not in response.headers  # her browser stays hers
    assert (await site.person_of(elodie_browser))["id"] == elodie
    assert len(await events_of(site, marc, "email_click")) == 1
    assert await events_of(site, elodie, "email_click") == []
    assert await score(site, elodie) == elodie_score
    assert await site.runtime.store.read(lambda q: q.person(elodie)) is not None


async def test_minting_in_bulk_refuses_unknown_and_invalid_recipients_by_row(site: Server) -> None:
    await known(site, "marc@acme.fr")
    await known(site, "elodie@acme.fr")
    body = {
        "campaign": "newsletter-nov",
        "urls": [TARGET, "https://www.acme.fr/webinaire"],
        "recipients": ["Marc@Acme.fr", "nobody@acme.fr", "not an address", 42, "elodie@acme.fr"],
    }
    minted = await mint(site, body)
    schema_at("/paths/~1api~1email-links/post/responses/201/content/application~1json/schema").validate(minted)
    assert [(row["index"], row["email"]) for row in minted["links"]] == [(0, "marc@acme.fr"), (4, "elodie@acme.fr")]
    assert all(len(row["clicks"]) == 2 for row in minted["links"])
    assert [(row["index"], row["field"], row["reason"].split(":")[0]) for row in minted["refused"]] == [
        (1, "recipients[1]", "unknown_person"),
        (2, "recipients[2]", "invalid_email"),
        (3, "recipients[3]", "invalid_email"),
    ]
    # Every row's second link leads to the second URL.
    response = await follow(site, minted["links"][1]["clicks"][1])
    assert response.headers["location"] == "https://www.acme.fr/webinaire"
    assert await site.count("persons") == 2  # nobody was created


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"urls": [TARGET], "recipients": ["a@b.fr"]}, "campaign"),
        ({"campaign": " ", "urls": [TARGET], "recipients": ["a@b.fr"]}, "campaign"),
        ({"campaign": "x" * 101, "urls": [TARGET], "recipients": ["a@b.fr"]}, "campaign"),
        ({"campaign": "c", "recipients": ["a@b.fr"]}, "urls"),
        ({"campaign": "c", "urls": [], "recipients": ["a@b.fr"]}, "urls"),
        ({"campaign": "c", "urls": TARGET, "recipients": ["a@b.fr"]}, "urls"),
        ({"campaign": "c", "urls": [TARGET, 3], "recipients": ["a@b.fr"]}, "urls[1]"),
        ({"campaign": "c", "urls": [TARGET]}, "recipients"),
        ({"campaign": "c", "urls": [TARGET], "recipients": []}, "recipients"),
        ({"campaign": "c", "urls": [TARGET], "recipients": "a@b.fr"}, "recipients"),
    ],
)
async def test_minting_names_the_bad_field(site: Server, body: Any, field: str) -> None:
    refused = await mint(site, body, 400)
    assert refused["field"] == field


WRONG_TYPES: list[Any] = ["text", 7, 1.5, True, None, [], {}]
GOOD = {"campaign": "c", "urls": [TARGET], "recipients": ["a@b.fr"]}


async def test_every_field_of_the_wrong_json_type_is_refused_naming_it(site: Server) -> None:
    for value in WRONG_TYPES:
        wrong: dict[str, Any] = {"campaign": {**GOOD, "campaign": value}, "urls": {**GOOD, "urls": value}}
        wrong |= {"urls[0]": {**GOOD, "urls": [value]}, "recipients": {**GOOD, "recipients": value}}
        wrong |= {"body": value} if value != {} else {}
        for field, body in wrong.items():
            if not (field in ("campaign", "urls[0]") and isinstance(value, str)):
                assert (await mint(site, body, 400))["field"] == field, (field, value)
        if not isinstance(value, str):
            # A mailing list is minted row by row: a recipient of the wrong type is refused by its row.
            refused = (await mint(site, {**GOOD, "recipients": [value]}))["refused"]
            assert [(row["field"], row["reason"].split(":")[0]) for row in refused] == [
                ("recipients[0]", "invalid_email")
            ], value


async def test_minting_needs_a_marketing_key(site: Server) -> None:
    body = {"campaign": "c", "urls": [TARGET], "recipients": ["a@b.fr"]}
    assert (await mint(site, body, 403, role="sales"))["field"] == "authorization"
    response = await site.http.post("/api/email-links", content=b"{", headers={"authorization": "Bearer nope"})
    assert response.status_code == 401
    key = await site.key("marketing")
    response = await site.http.post("/api/email-links", content=b"{", headers={"authorization": f"Bearer {key}"})
    assert (response.status_code, response.json()["field"]) == (400, "body")


async def test_a_body_over_the_limit_is_a_413(site: Server) -> None:
    key = await site.key("marketing")
    body = b" " * (MAX_BODY + 1)
    response = await site.http.post("/api/email-links", content=body, headers={"authorization": f"Bearer {key}"})
    assert (response.status_code, response.json()["field"]) == (413, "body")


async def test_racing_opens_and_clicks_end_as_if_one_after_the_other(site: Server) -> None:
    _, marc = await known(site, "marc@acme.fr")
    row = await link_for(site, "marc@acme.fr")
    before = await score(site, marc)
    await asyncio.gather(*(follow(site, row["open"]) for _ in range(4)))
    site.clock.advance(60)
    clicked = await asyncio.gather(*(follow(site, row["clicks"][0]) for _ in range(2)))
    assert len(await events_of(site, marc, "email_open")) == 4
    assert len(await events_of(site, marc, "email_click")) == 2
    assert await score(site, marc) == before + 4 + 2 * 5
    devices = {device.id for device in await site.runtime.store.read(lambda q: q.visitors_of(marc))}
    assert f"m:{marc}" in devices  # one e-mail channel for the four opens
    assert len(devices) == 4  # the form's browser, the channel, the two browsers clicked in
    assert len({response.cookies["tk_vid"] for response in clicked}) == 2


async def test_the_beacon_cannot_forge_an_email_event(site: Server) -> None:
    beacon = site.beacon()
    answer = await beacon.send({"type": "email_click", "name": "newsletter-nov", "url": TARGET}, expect=400)
    assert answer["rejected"][0]["field"] == "events[0].type"


async def test_two_clicks_racing_in_one_anonymous_browser_merge_it_once(site: Server) -> None:
    _, marc = await known(site, "marc@acme.fr")
    laptop = site.beacon()
    await laptop.page("/demo/produits")
    anonymous = int((await site.person_of(laptop))["id"])
    before = await score(site, marc)
    row = await link_for(site, "marc@acme.fr")
    clicked = await asyncio.gather(*(follow(site, row["clicks"][0], cookie=laptop.cookie) for _ in range(2)))
    assert {response.cookies["tk_vid"] for response in clicked} == {laptop.cookie}
    assert (await site.person_of(laptop))["id"] == marc
    assert await site.runtime.store.read(lambda q: q.resolve_person_id(anonymous)) == marc
    assert len(await events_of(site, marc, "email_click")) == 2
    assert len(await events_of(site, marc, "page")) == 1  # the anonymous history moved once, not twice
    assert await score(site, marc) == before + 2 + 2 * 5
    assert await site.count("persons") == 1
