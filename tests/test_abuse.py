"""Abuse resistance: bots, rate limits, internal traffic, caps, forged tokens, keys."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.requests import Request
from starlette.routing import Route

from tracker.config import rate_limit
from tracker.domain.programme.checks import ProgrammeError
from tracker.domain.sites import internal_networks
from tracker.services.abuse import (
    MIN_PAGE_GAP,
    InternalBrowsers,
    PageViews,
    Rate,
    RateLimited,
    RateLimiter,
    TokenBuckets,
    agent_verdict,
    client_address,
    parse_address,
)
from tracker.services.site_settings import SiteChange, SiteErrors, save_settings

from .conftest import BASE, CHROME, START, Beacon, Server
from .test_cli import run
from .test_metrics import sample

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/130.0.0.0 Safari/537.36"
)
PUBLIC = "81.2.69.160"  # any global address: loopback and private clients are never IP-limited
OTHER_PUBLIC = "81.2.70.1"


def public_client(server: Server, host: str = PUBLIC) -> httpx.AsyncClient:
    """An HTTP client whose requests come from ``host``, as a real visitor's would."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app, client=(host, 4711)), base_url=BASE)


def page(path: str, at_ms: float | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "page", "url": BASE + path}
    if at_ms is not None:
        event["t"] = at_ms
    return event


async def view(server: Server, beacon: Beacon, path: str) -> dict[str, Any]:
    """A page view timed by the browser, as the beacon sends it (``t`` and ``sent_at``)."""
    now_ms = server.clock.now * 1000
    return await beacon.send(page(path, now_ms), sent_at=now_ms)


async def ignored(server: Server, days: int = 1) -> dict[str, tuple[int, int]]:
    data = await server.api("/api/ignored-traffic", role="marketing", days=days)
    return {row["reason"]: (row["requests"], row["events"]) for row in data["counts"]}


# ---- pure parts ---------------------------------------------------------------------------


def test_token_buckets_allow_a_burst_then_refill_at_the_rate() -> None:
    buckets = TokenBuckets(Rate(per_second=2, burst=3))
    assert [buckets.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", 0.0) == pytest.approx(0.5)  # one token arrives every half second
    assert buckets.take("b", 0.0) == 0.0  # buckets are per key
    assert buckets.take("a", 0.5) == 0.0
    assert buckets.take("a", 10.0) == 0.0  # an idle bucket refills up to the burst, not beyond
    assert [buckets.take("a", 10.0) for _ in range(3)][-1] > 0


def test_token_buckets_forget_the_least_recently_used() -> None:
    buckets = TokenBuckets(Rate(per_second=1, burst=1), capacity=2)
    buckets.take("a", 0.0)
    buckets.take("b", 0.0)
    buckets.take("a", 0.0)  # a is refused, and now the most recent
    buckets.take("c", 0.0)  # b goes
    assert buckets.take("a", 0.0) > 0
    assert buckets.take("b", 0.0) == 0.0  # forgotten means full again


def test_ipv6_clients_share_their_64_and_private_clients_are_not_limited() -> None:
    limiter = RateLimiter(visitor=Rate(0, 0), ip=Rate(1, 1))
    limiter.check_address(ipaddress.ip_address("2a01:e0a:1:2::1"), 0.0)
    with pytest.raises(RateLimited) as refused:
        limiter.check_address(ipaddress.ip_address("2a01:e0a:1:2:ffff::9"), 0.0)
    assert refused.value.field == "ip" and refused.value.retry_after == 1
    limiter.check_address(ipaddress.ip_address("2a01:e0a:1:3::1"), 0.0)  # another /64
    for _ in range(5):
        limiter.check_address(ipaddress.ip_address("10.0.0.7"), 0.0)
        limiter.check_address(ipaddress.ip_address("127.0.0.1"), 0.0)
        limiter.check_visitor(1, "v", 0.0)  # visitor limit off


@pytest.mark.parametrize(
    ("text", "limit"), [("20/40", (20.0, 40.0)), ("5", (5.0, 5.0)), ("0.5/2", (0.5, 2.0)), ("off", (0.0, 0.0))]
)
def test_rate_limit_settings(text: str, limit: tuple[float, float]) -> None:
    assert rate_limit(text) == limit
    assert Rate(*limit).enabled == (text != "off")


@pytest.mark.parametrize("text", ["fast", "20/0.5", "-1/4", "nan/2", "inf/2", "/"])
def test_bad_rate_limit_settings_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="RATE/BURST"):
        rate_limit(text)


def request_from(host: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "method": "POST", "path": "/collect", "headers": headers, "client": (host, 1)})


def test_the_client_address_believes_only_the_trusted_proxys_own_entry() -> None:
    spoofed = request_from("10.0.0.2", f"6.6.6.6, {PUBLIC}")
    assert client_address(spoofed, trusted_proxy=True) == ipaddress.ip_address(PUBLIC)
    assert client_address(spoofed, trusted_proxy=False) == ipaddress.ip_address("10.0.0.2")
    assert client_address(request_from("10.0.0.2"), trusted_proxy=True) == ipaddress.ip_address("10.0.0.2")
    assert client_address(request_from("10.0.0.2", "garbage"), trusted_proxy=True) is None
    assert parse_address("not an address") is None


@pytest.mark.parametrize(
    ("agent", "verdict"),
    [
        (GOOGLEBOT, "user-agent"),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "user-agent"),
        ("python-requests/2.32.3", "user-agent"),  # HTTP clients too (tests/test_devices.py has the table)
        (HEADLESS, "headless"),  # crawlerdetect knows it as well, but the reason stays the finer one
        (
            "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
            "headless",
        ),
        (CHROME, None),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148",
            None,
        ),
        ("", None),
    ],
)
def test_agent_verdicts(agent: str, verdict: str | None) -> None:
    assert agent_verdict(agent) == verdict


def test_an_impossible_pace_is_two_different_pages_under_50_ms() -> None:
    pages = PageViews()
    assert pages.too_fast(None, [(0.0, "/a"), (0.01, "/b")])
    assert not pages.too_fast(None, [(0.0, "/a"), (0.01, "/a")])  # the same page twice
    assert not pages.too_fast(None, [(0.0, "/a"), (MIN_PAGE_GAP, "/b")])
    pages.remember("v", [(1.0, "/a")])
    assert pages.too_fast("v", [(1.02, "/b")])  # across requests
    assert pages.too_fast("v", [(0.99, "/b")])  # whatever order they arrive in
    assert not pages.too_fast("v", [(1.2, "/b")])
    assert not pages.too_fast("w", [(1.02, "/b")])  # another visitor


def test_internal_links_and_cookies_are_signed_and_links_expire() -> None:
    internal = InternalBrowsers("secret")
    token = internal.link_token("acme", expires_at=100.0)
    assert internal.site_of_link(token, now=99.0) == "acme"
    assert internal.site_of_link(token, now=100.0) is None
    assert InternalBrowsers("other").site_of_link(token, now=0.0) is None
    assert internal.site_of_link(token[:-2] + "xx", now=0.0) is None
    cookie = internal.cookie_for({"acme", "demo"})
    assert internal.sites_of(cookie) == {"acme", "demo"}
    assert internal.sites_of(token) == frozenset()  # a link is not a cookie
    assert internal.sites_of("forged") == frozenset() and internal.sites_of(None) == frozenset()


def test_internal_ranges_are_checked() -> None:
    assert [str(n) for n in internal_networks(["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"])] == [
        "10.0.0.0/8",
        "192.0.2.7/32",
        "2001:db8::/32",
    ]
    with pytest.raises(ProgrammeError) as bad:
        internal_networks(["10.0.0.0/33"])
    assert bad.value.where == "settings.internal_ips"
    with pytest.raises(ProgrammeError):
        internal_networks("10.0.0.0/8")


# ---- bots are counted, never stored or scored ----------------------------------------------


@pytest.mark.parametrize(
    ("agent", "envelope", "reason"),
    [
        (GOOGLEBOT, {}, "user-agent"),
        ("curl/8.5.0", {}, "user-agent"),
        (HEADLESS, {}, "headless"),
        (CHROME, {"ctx": {"webdriver": True}}, "webdriver"),
    ],
)
async def test_bots_are_counted_but_never_stored_scored_or_shown_anything(
    server: Server, agent: str, envelope: dict[str, Any], reason: str
) -> None:
    before = (await server.http.get("/metrics")).text
    bot = server.beacon(user_agent=agent)
    for paper in ("a", "b", "c"):
        data = await bot.send(
            {"type": "download", "url": f"{BASE}/demo/files/livre-blanc-{paper}.pdf"}, page("/demo/"), **envelope
        )
        assert data == {"vid": None, "decisions": [], "rejected": [], "ignored": "bot"}
    body = {"site": "demo", "events": [page("/demo/tarifs")], **envelope}
    response = await server.http.post("/collect", json=body, headers={"user-agent": agent})
    assert response.status_code == 200 and "set-cookie" not in response.headers
    for table in ("persons", "visitors", "events", "ledger", "decisions"):
        assert await server.count(table) == 0, table
    after = (await server.http.get("/metrics")).text
    name = f'tracker_events_total{{outcome="bot",reason="{reason}"}}'
    assert sample(after, name) - sample(before, name) == 7
    assert await ignored(server) == {reason: (4, 7)}


# ---- an impossible pace -----------------------------------------------------------------------


async def test_two_pages_under_50_ms_apart_make_a_bot_whose_points_are_taken_back(server: Server) -> None:
    bot = server.beacon()
    await view(server, bot, "/demo/blog/qualite/precision")
    assert (await server.person_of(bot))["scores"]["engagement"] == 2
    server.clock.advance(0.02)
    assert (await view(server, bot, "/demo/blog/qualite/service"))["ignored"] == "bot"
    lead = await server.person_of(bot)
    assert lead["scores"]["engagement"] == 0
    assert lead["ledger"] == [] and lead["timeline"] == [] and lead["decisions"] == []
    # The flag is in the store: an instance that never saw the pace ignores the device too.
    server.runtime.guard.pages = PageViews()
    server.clock.advance(60)
    assert (await view(server, bot, "/demo/tarifs"))["ignored"] == "bot"
    assert (await server.person_of(bot))["scores"]["engagement"] == 0
    assert await server.count("events") == 0 and await server.count("urls") == 0  # its pages went with its events
    assert await ignored(server) == {"too-fast": (1, 1), "flagged": (1, 1)}


async def test_one_batch_with_an_impossible_pace_stores_nothing(server: Server) -> None:
    bot = server.beacon()
    now_ms = server.clock.now * 1000
    data = await bot.send(page("/demo/tarifs", now_ms - 10), page("/demo/emplois", now_ms), sent_at=now_ms)
    assert data["ignored"] == "bot" and data["vid"] is None
    assert await server.count("persons") == 0 and await server.count("events") == 0


async def test_a_bot_posing_as_a_known_person_never_changes_their_score(server: Server) -> None:
    marc = server.beacon()
    await marc.page("/demo/")
    await marc.download("/demo/files/livre-blanc-a.pdf")
    await marc.download("/demo/files/livre-blanc-b.pdf")
    for slug in ("precision", "controle", "service"):
        await marc.page(f"/demo/blog/qualite/{slug}")
    await marc.form("popup-demo", email="marc@example.com")
    before = await server.person_of(marc)
    assert before["scores"]["engagement"] == 13 and before["stage"] == "sql"
    [laptop] = [device["id"] for device in before["devices"]]

    server.clock.advance(3600)
    bot = server.beacon()
    await view(server, bot, "/demo/")
    server.clock.advance(2)
    now_ms = server.clock.now * 1000
    form = {"type": "form", "name": "popup-demo", "url": BASE + "/demo/", "props": {"email": "marc@example.com"}}
    await bot.send({**form, "t": now_ms}, sent_at=now_ms)  # merged into Marc
    server.clock.advance(2)
    crawled = await view(server, bot, "/demo/blog/qualite/nouveautes")
    assert (await server.person_of(marc))["scores"]["engagement"] == 15 and crawled["decisions"]
    server.clock.advance(0.01)
    assert (await view(server, bot, "/demo/blog/qualite/garanties"))["ignored"] == "bot"

    after = await server.person_of(marc)
    assert after["id"] == before["id"] and after["email"] == "marc@example.com"
    assert after["scores"] == before["scores"] and after["stage"] == "sql"
    assert sum(row["points"] for row in after["ledger"] if row["score"] == "engagement") == 13
    assert {(r["rule_id"], r["event_id"]) for r in after["ledger"]} == {
        (r["rule_id"], r["event_id"]) for r in before["ledger"]
    }
    assert [(s["stage"], s["event_id"]) for s in after["stages"]] == [
        (s["stage"], s["event_id"]) for s in before["stages"]
    ]
    assert {event["device"] for event in after["timeline"]} == {laptop}
    assert {row["visitor_id"] for row in after["decisions"]} <= {laptop}


async def test_a_human_pace_and_server_timed_events_are_never_judged(server: Server) -> None:
    reader = server.beacon()
    await view(server, reader, "/demo/blog/qualite/precision")
    server.clock.advance(0.06)
    await view(server, reader, "/demo/blog/qualite/service")
    server.clock.advance(0.01)
    await view(server, reader, "/demo/blog/qualite/service#avis")  # the same page, further down
    # Without sent_at the times are arrival times, which say nothing of a browser's pace.
    await reader.send(page("/demo/blog/qualite/controle"), page("/demo/blog/qualite/delais"))
    assert (await server.person_of(reader))["scores"]["engagement"] == 10


# ---- rate limits ------------------------------------------------------------------------------


async def test_a_visitor_over_its_rate_gets_429_with_retry_after(server: Server) -> None:
    server.runtime.guard.limiter = RateLimiter(visitor=Rate(1, 3), ip=Rate(0, 0))
    before = (await server.http.get("/metrics")).text
    b = server.beacon()
    for _ in range(4):  # the first request has no token yet: only the next three count
        await b.page("/demo/blog/qualite/precision")
    body = {"site": "demo", "vid": b.vid, "events": [page("/demo/blog/qualite/precision")]}
    refused = await server.http.post("/collect", json=body, headers={"user-agent": CHROME})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.json()["error"] == "rate_limited" and refused.json()["field"] == "visitor"
    assert "1 a second, bursts of 3" in refused.json()["message"]
    assert await server.count("events") == 4
    after = (await server.http.get("/metrics")).text
    name = 'tracker_requests_refused_total{error="rate_limited",field="visitor"}'
    assert sample(after, name) - sample(before, name) == 1
    # A forged copy of the token is another visitor: it cannot spend this one's budget.
    assert b.vid is not None
    assert (await server.beacon().send(page("/demo/"), vid=b.vid + "x"))["vid"] != b.vid
    server.clock.advance(1)
    assert (await b.page("/demo/blog/qualite/precision"))["vid"] == b.vid


async def test_an_address_over_its_rate_is_refused_before_its_body_is_read(server: Server) -> None:
    server.runtime.guard.limiter = RateLimiter(visitor=Rate(0, 0), ip=Rate(2, 2))
    async with public_client(server) as http:
        visitor = Beacon(http)
        await visitor.page("/demo/")
        await visitor.page("/demo/tarifs")
        refused = await http.post("/collect", content=b"not even JSON")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert refused.json()["field"] == "ip"
    async with public_client(server, OTHER_PUBLIC) as http:
        await Beacon(http).page("/demo/")
    for _ in range(4):  # loopback: a proxy whose forwarding is not configured, never limited
        await server.beacon().page("/demo/")
    # Behind a trusted proxy the limit follows the address the proxy appended.
    server.runtime.guard.trusted_proxy = True
    forwarded = {"user-agent": CHROME, "x-forwarded-for": f"1.1.1.1, {PUBLIC}"}
    response = await server.http.post("/collect", json={"site": "demo", "events": [page("/")]}, headers=forwarded)
    assert response.status_code == 429


async def test_the_segment_api_shares_the_address_limit_checked_before_the_key(server: Server) -> None:
    server.runtime.guard.limiter = RateLimiter(visitor=Rate(0, 0), ip=Rate(1, 1))
    message = {"anonymousId": "a-1", "event": "Signed Up"}
    async with public_client(server) as http:
        assert (await http.post("/v1/track", json=message)).status_code == 401  # no write key, one token spent
        refused = await http.post("/v1/track", json=message)
    assert refused.status_code == 429 and refused.json()["field"] == "ip"
    assert refused.headers["retry-after"] == "1"


# ---- size caps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"type": "custom", "name": "n" * 101}, "events[0].name"),
        ({"type": "page", "url": BASE + "/" + "u" * 2048}, "events[0].url"),
        ({"type": "page", "url": BASE + "/", "ref": "r" * 2049}, "events[0].ref"),
        ({"type": "page", "url": BASE + "/", "title": "t" * 301}, "events[0].title"),
        ({"type": "custom", "name": "x", "props": {"k": "v" * 1001}}, "events[0].props.k"),
        ({"type": "custom", "name": "x", "props": {f"k{i}": i for i in range(51)}}, "events[0].props"),
        ({"type": "custom", "name": "x", "props": {"k" * 101: 1}}, "events[0].props"),
        ({"type": "custom", "name": "x", "props": {"l": list(range(51))}}, "events[0].props.l"),
        ({"type": "custom", "name": "x", "props": {"l": [["v" * 1001]]}}, "events[0].props.l[0][0]"),
    ],
)
async def test_oversized_events_are_rejected_and_the_rest_kept(
    server: Server, event: dict[str, Any], field: str
) -> None:
    data = await server.beacon().send(event, page("/demo/"))
    assert [(r["index"], r["field"]) for r in data["rejected"]] == [(0, field)]
    assert await server.count("events") == 1


async def test_a_body_streamed_without_a_length_is_cut_at_64_kb(server: Server) -> None:
    async def chunks() -> Any:
        yield b'{"site": "demo", "events": [{"type": "page", "url": "/"}], "pad": "'
        for _ in range(70):
            yield b"x" * 1024
        yield b'"}'

    response = await server.http.post("/collect", content=chunks())
    assert response.status_code == 413 and response.json()["field"] == "body"
    assert await server.count("events") == 0


async def test_a_body_streamed_in_pieces_under_the_limit_is_read_whole(server: Server) -> None:
    body = orjson.dumps({"site": "demo", "events": [{"type": "page", "url": BASE + "/demo/"}]})

    async def pieces() -> Any:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    response = await server.http.post("/collect", content=pieces(), headers={"user-agent": CHROME})
    assert response.status_code == 200 and response.json()["vid"]
    assert await server.count("events") == 1


async def test_a_persons_devices_are_capped_least_recently_seen_first(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tracker.services.ingest.MAX_DEVICES", 3)
    browsers = []
    for _ in range(5):
        browser = server.beacon()
        await browser.page("/demo/")
        await browser.form("newsletter", email="many.devices@example.com")
        browsers.append(browser)
        # Someone else arrives in between: SQLite would otherwise hand the merged-away
        # person's id to the next new person, which the aliases table refuses.
        await server.beacon().page("/demo/")
        server.clock.advance(60)
    lead = await server.person_of(browsers[-1])
    assert len(lead["devices"]) == 3
    assert len(lead["timeline"]) == 10  # forgetting a device keeps what it did
    for browser in browsers[-3:]:
        assert (await server.person_of(browser))["id"] == lead["id"]
    assert (await server.http.get(f"/api/visitors/{browsers[0].vid}", headers=await auth(server))).status_code == 404


async def auth(server: Server, role: str = "sales") -> dict[str, str]:
    return {"authorization": f"Bearer {await server.key(role)}"}


# ---- internal traffic -------------------------------------------------------------------------


async def test_traffic_from_a_sites_internal_ranges_is_counted_not_stored(server: Server) -> None:
    store = server.runtime.store
    saved = await save_settings(store, "demo", SiteChange(internal=["81.2.69.0/24"]), create=False, actor="t", now=1)
    assert saved.settings["internal_ips"] == ["81.2.69.0/24"]
    with pytest.raises(SiteErrors):
        await save_settings(store, "nope", SiteChange(internal=[]), create=False, actor="t", now=1)
    await server.runtime.sites.refresh()
    before = (await server.http.get("/metrics")).text
    async with public_client(server) as http:
        assert (await Beacon(http).download("/demo/files/livre-blanc-c.pdf"))["ignored"] == "internal"
    async with public_client(server, OTHER_PUBLIC) as http:
        outsider = Beacon(http)
        await outsider.download("/demo/files/livre-blanc-c.pdf")
        assert (await server.person_of(outsider))["scores"]["engagement"] == 12
    after = (await server.http.get("/metrics")).text
    name = 'tracker_events_total{outcome="internal",reason="internal"}'
    assert sample(after, name) - sample(before, name) == 1
    assert await server.count("events") == 1
    assert await ignored(server) == {"internal": (1, 1)}


async def test_a_link_marks_a_browser_internal_until_it_opts_back_in(server: Server) -> None:
    assert (await server.http.post("/api/internal-links", headers=await auth(server))).status_code == 403
    created = await server.http.post("/api/internal-links", headers=await auth(server, "marketing"))
    assert created.status_code == 201
    link = created.json()
    assert link["site"] == "demo" and link["url"].startswith(f"{BASE}/internal?t=")
    assert link["expires_at"] == "2026-01-08T00:00:00Z"
    marked = await server.http.get(link["url"])
    server.http.cookies.clear()
    assert marked.json() == {"internal": ["demo"]}
    assert {"httponly", "samesite=lax"} <= {part.strip() for part in marked.headers["set-cookie"].lower().split(";")}
    cookie = {"cookie": f"tk_internal={marked.cookies['tk_internal']}", "user-agent": CHROME}

    async def collect(site: str) -> dict[str, Any]:
        body = {"site": site, "events": [page("/demo/tarifs")]}
        response = await server.http.post("/collect", json=body, headers=cookie)
        data: dict[str, Any] = response.json()
        return data

    assert (await collect("demo"))["ignored"] == "internal"
    await server.load_programme("", site="acme")
    assert (await collect("acme"))["vid"]  # internal for demo only
    assert (await server.http.get("/internal", headers=cookie)).json() == {"internal": ["demo"]}
    back = await server.http.get("/internal?off", headers=cookie)
    assert back.json() == {"internal": []} and "max-age=0" in back.headers["set-cookie"].lower()
    assert (await server.http.get("/internal?t=forged")).status_code == 400
    server.clock.advance(7 * 86400)
    expired = await server.http.get(link["url"])
    assert expired.status_code == 400 and expired.json()["field"] == "t"


def test_the_cli_sets_shows_and_clears_internal_ranges(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert run("sites", "add", "acme", *data)[0] == 0
    code, out, _ = run("sites", "internal", "acme", "10.0.0.0/8", "192.0.2.7", *data)
    assert code == 0 and "10.0.0.0/8, 192.0.2.7/32" in out
    assert "10.0.0.0/8, 192.0.2.7/32" in run("sites", "internal", "acme", *data)[1]
    code, _, err = run("sites", "internal", "acme", "10.0.0.0/33", *data)
    assert code == 1 and "internal: " in err and "10.0.0.0/33" in err
    assert "internal ranges none" in run("sites", "internal", "acme", "--clear", *data)[1]
    code, _, err = run("sites", "internal", "nope", "10.0.0.0/8", *data)
    assert code == 1 and "no site" in err


async def test_ignored_counts_survive_a_failed_flush(server: Server) -> None:
    class BrokenStore:
        async def write(self, unit: Any) -> Any:
            raise OSError("disk full")

    counts = server.runtime.guard.ignored
    site = server.runtime.sites.get("demo")
    assert site is not None
    counts.add(site.id, "headless", 2, START)
    with pytest.raises(OSError):
        await counts.flush(BrokenStore())  # type: ignore[arg-type]
    assert await ignored(server) == {"headless": (1, 2)}
    server.clock.advance(86400)
    assert await ignored(server) == {}
    assert await ignored(server, days=2) == {"headless": (1, 2)}
    refused = await server.http.get("/api/ignored-traffic?days=0", headers=await auth(server, "marketing"))
    assert refused.status_code == 400 and refused.json()["field"] == "days"


# ---- tokens, decisions and keys ---------------------------------------------------------------


# The API's own description: it says how to ask, and holds no data.
PUBLIC_API = frozenset({"/api/openapi.json"})


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return []


async def test_a_replayed_token_gets_only_the_programmes_copy(server: Server) -> None:
    victim = server.beacon()
    await victim.form("demo", email="zoe.victim@example.com", company="Secret Corp", phone="0611223344")
    lead = await server.person_of(victim)
    assert lead["stage"] == "sql"
    thief = server.beacon(user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
    data = await thief.send(page("/demo/"), vid=victim.vid)
    assert set(data) == {"vid", "decisions", "rejected"} and data["decisions"]
    source = server.runtime.sites.get("demo").programme.source  # type: ignore[union-attr]
    assert all(text in source for text in strings_in(data["decisions"]))
    shown = repr([data["decisions"], data["rejected"]]).lower()
    assert not any(secret in shown for secret in ("zoe.victim", "secret corp", "0611223344", "engagement"))


async def test_a_replayed_token_cannot_take_over_an_identity(server: Server) -> None:
    victim = server.beacon()
    await victim.page("/demo/tarifs")
    await victim.form("newsletter", email="victim@example.com", company="Victim SA")
    thief = server.beacon()
    thief.vid = victim.vid
    data = await thief.form("demo", email="thief@example.com", company="Thief Ltd")
    assert data["vid"] != victim.vid  # a second identity on that device gets a fresh one
    robbed = await server.person_of(victim)
    mine = await server.person_of(thief)
    assert robbed["email"] == "victim@example.com" and robbed["profile"]["company"] == "Victim SA"
    assert mine["id"] != robbed["id"] and mine["email"] == "thief@example.com"
    assert [e["type"] for e in mine["timeline"]] == ["form"]
    assert mine["scores"]["engagement"] == 30 and robbed["scores"]["engagement"] == 5


async def test_every_api_route_refuses_requests_without_a_valid_key(server: Server) -> None:
    await server.key("admin")  # keys exist: a refusal is never for want of any
    checked = 0
    for route in server.app.routes:
        if not isinstance(route, Route) or not route.path.startswith("/api/") or route.path in PUBLIC_API:
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            for headers in ({}, {"authorization": "Bearer tk_forged"}, {"authorization": "Basic dGs6"}):
                response = await server.http.request(method, path, headers=headers)
                assert response.status_code == 401, (method, route.path, headers, response.text)
                assert response.json()["error"] == "unauthorized"
            checked += 1
    assert checked >= 8
