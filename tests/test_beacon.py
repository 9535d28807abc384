from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from tracker.web.beacon import CACHE_CONTROL, SOURCE, Beacon, accepts_gzip, beacon_route, build, etag_matches, load

# The budget: the whole beacon, rendering included, in 3 KB of gzip.
BUDGET_GZIP_BYTES = 3 * 1024


@pytest.fixture(scope="module")
def beacon() -> Beacon:
    return load()


@pytest.fixture
async def client(beacon: Beacon) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=[beacon_route(beacon)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t.test") as client:
        yield client


def test_gzipped_beacon_fits_the_budget(beacon: Beacon) -> None:
    assert len(beacon.gzipped) <= BUDGET_GZIP_BYTES, f"{len(beacon.gzipped)} bytes gzipped"


def test_minifier_strips_comments_and_renames_locals(beacon: Beacon) -> None:
    source = SOURCE.read_text(encoding="utf-8")
    text = beacon.body.decode()
    assert len(beacon.body) < len(source) // 2
    assert "Everything run from an event" in source and "Everything run" not in text
    # Local names shrink, protocol keys stay as the server expects them.
    assert "onlyMarked" in source and "onlyMarked" not in text
    # "preview": the console's preview page hands the beacon a decision in data-preview.
    for key in ('"tk_vid"', "sent_at", "webdriver", '"engaged"', "data-tracker-slot", '"collect"', '"preview"'):
        assert key in text


def test_build_is_deterministic() -> None:
    source = "let answer = 40 + 2; // why\nwindow.x = answer;"
    first, second = build(source), build(source)
    assert first == second
    assert gzip.decompress(first.gzipped) == first.body
    assert b"why" not in first.body


async def test_plain_response_headers(client: httpx.AsyncClient, beacon: Beacon) -> None:
    response = await client.get("/t.js", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.content == beacon.body
    assert response.headers["content-type"] == "application/javascript; charset=utf-8"
    assert response.headers["cache-control"] == CACHE_CONTROL == "public, max-age=86400"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["etag"] == beacon.etag
    assert "content-encoding" not in response.headers


async def test_gzip_when_accepted(client: httpx.AsyncClient, beacon: Beacon) -> None:
    response = await client.get("/t.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-length"] == str(len(beacon.gzipped))
    assert response.headers["etag"] == beacon.gzip_etag != beacon.etag
    assert response.content == beacon.body  # httpx decodes it


async def test_head_sends_headers_only(client: httpx.AsyncClient, beacon: Beacon) -> None:
    response = await client.head("/t.js", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(beacon.body))


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_not_modified_when_the_etag_matches(client: httpx.AsyncClient, encoding: str) -> None:
    first = await client.get("/t.js", headers={"Accept-Encoding": encoding})
    again = await client.get("/t.js", headers={"Accept-Encoding": encoding, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == CACHE_CONTROL
    assert again.headers["vary"] == "Accept-Encoding"


async def test_stale_etag_gets_the_script(client: httpx.AsyncClient, beacon: Beacon) -> None:
    response = await client.get("/t.js", headers={"Accept-Encoding": "identity", "If-None-Match": '"an-older-build"'})
    assert response.status_code == 200
    assert response.content == beacon.body


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ("*", True),
        ('"x", W/"{etag}"', True),
        ('"{gzip}"', True),
        ('"{etag}-old"', False),
        ("", False),
    ],
)
def test_etag_matches(beacon: Beacon, header: str, matches: bool) -> None:
    value = header.format(etag=beacon.digest, gzip=f"{beacon.digest}-gz")
    assert etag_matches(value, beacon) is matches


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("GZIP;q=0.5", True),
        ("deflate, gzip;q=1.0, br", True),
        ("x-gzip", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("br, *;q=0", False),
        ("gzip;q=nonsense", False),
        ("identity", False),
        ("", False),
    ],
)
def test_accepts_gzip(header: str, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted
