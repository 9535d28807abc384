"""Hypothesis strategies for the fuzz tests: well-enveloped requests with hostile contents.

A fuzzer that varies the envelope (site key, write key, JSON syntax) mostly tests the
first ten lines of a handler.  These strategies keep the envelope right most of the
time (the real site key, a real visitor token or write key) and make the *contents*
hostile: every field of every event kind and Segment message is either valid-looking
or wrong (another JSON type, huge, deeply nested, odd Unicode, extreme numbers).

Values that only the live server knows (visitor tokens, API keys) are drawn as
``Ref`` markers and filled in when the request is sent (``tests/fuzz_live.py``); JSON
that Python's encoder will not write (lone surrogates, NaN, 1e999, integers beyond 64
bits, -0, nesting deeper than its recursion limit) is drawn as ``Raw`` text, spliced
in verbatim.  Hypothesis decides the mix; ``weighted`` and ``mutated`` keep most of
each body valid, so the one hostile field is the one whose check runs.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st
from starlette.routing import Route

from tracker.app import routes
from tracker.config import Settings
from tracker.domain.facts import EVENT_TYPES
from tracker.services.outbox import EVENTS
from tracker.web.openapi import SEGMENT_CALLS, document

from .conftest import CHROME

SITE = "demo"
BASE = "http://shop.test"
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/130.0.0.0 Mobile Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/604.1"
)
# Pages and files the demo programme scores, so fuzzed requests also move scores, stages and routing.
DEMO_PATHS = (
    "/demo/",
    "/demo/blog/qualite/a",
    "/demo/blog/qualite/b?utm_source=news&utm_campaign=spring",
    "/demo/tarifs",
    "/demo/emplois",
    "/demo/produits/general/p1",
    "/demo/produits/medical/m1",
    "/demo/files/livre-blanc-a.pdf",
    "/demo/files/livre-blanc-b.pdf",
    "/demo/files/livre-blanc-c.pdf",
    "/demo/files/fiche-technique-medical.pdf",
    "/demo/contact?sujet=newsletter",
)
CAMPAIGNS = ("sales-popup", "undecided-interest", "medical-chat", "newsletter-banner")
FORMS = ("demo", "contact", "newsletter", "popup-demo")
# Few identities, so fuzzed requests identify, merge and collide with each other.
EMAILS = (
    "marc@example.com",
    " Marc@Example.COM ",
    "elodie@exemple.fr",
    "capucine@example.org",
    "fuzz+1@example.com",
    "élodie@exemple.fr",
    "user@xn--exmple-cua.fr",
)
USER_IDS = ("u-1", "u-2", "42", "marc@example.com", "user-é", "  u-1  ")
DEVICES = ("d1", "d2", "d3", "device-é", "550e8400-e29b-41d4-a716-446655440000")
MESSAGE_IDS = ("m1", "m2", "m3")
# Segment track names: the beacon's own kinds and the common names a mapping onto them may know.
TRACK_NAMES = (
    *sorted(EVENT_TYPES),
    "File Downloaded",
    "Form Submitted",
    "Link Clicked",
    "Outbound Link Clicked",
    "Page Viewed",
    "Signed Up",
    "Order Completed",
    "view_product",
)


@dataclass(frozen=True, slots=True)
class Raw:
    """JSON text spliced into the body as is: what ``json.dumps`` cannot or will not write."""

    text: str


@dataclass(frozen=True, slots=True)
class Ref:
    """A value only the live server knows (or that must be new each time), filled in when sent.

    ``kind`` is "token" (``name``: valid, forged, foreign, ghost, tampered, empty, huge),
    "key" (ingest, admin, sales, unknown: the key itself), "basic" or "bearer" (the same
    as an ``Authorization`` header), "id" (a real person, webhook or delivery id, or a
    visitor token, by path parameter name) or "fresh" (a new UUID); ``n`` picks among
    several (e.g. which real token).
    """

    kind: str
    name: str
    n: int = 0


@dataclass(frozen=True, slots=True)
class Shot:
    """One request: ``body`` is JSON-like (with ``Raw`` / ``Ref`` inside) or already bytes."""

    method: str
    path: str
    body: Any = None
    headers: tuple[tuple[str, Any], ...] = ()
    # None: plain; "valid": gzip; "invalid": bytes that are not gzip; "truncated": a cut gzip stream.
    gzip: str | None = None
    # Non-ASCII as UTF-8 (what browsers send) or as \u escapes (what many SDKs send).
    ascii: bool = False
    # Path parameters (``path`` holds ``{name}``) and the query string, ``Ref`` allowed in both.
    path_params: tuple[tuple[str, Any], ...] = ()
    query: tuple[tuple[str, Any], ...] = ()
    # What the per-route tallies file it under: the route, the Segment call, "batch".
    label: str = field(default="", compare=False)


def to_json(value: Any, ascii: bool = False) -> str:
    """JSON text for ``value``, with ``Raw`` spliced in verbatim and floats written exactly."""
    if isinstance(value, Raw):
        return value.text
    if value is None or isinstance(value, (bool, int, float, str)):
        return json.dumps(value, ensure_ascii=ascii)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(to_json(item, ascii) for item in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{json.dumps(str(k), ensure_ascii=ascii)}:{to_json(v, ascii)}" for k, v in value.items())
            + "}"
        )
    raise TypeError(f"not JSON-like: {value!r}")


# Hypothesis favours small values of a wide integer range (good for edge cases, bad for
# proportions), and starts from all-zero draws; over 0–99 its draws are uniform.  So odds
# are hundredths, and a zero draw always means the common case.
_percent = st.integers(0, 99)


def rarely(chance: float) -> st.SearchStrategy[bool]:
    """True with probability ``chance``; false on the zero draw."""
    return _percent.map(lambda n: n >= 100 - round(chance * 100))


@st.composite
def weighted(draw: st.DrawFn, valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any], odds: int = 3) -> Any:
    """``valid`` ``odds`` times out of ``odds + 1``, else ``other``: most fields right, so most
    events get past validation, and the one wrong field is the one whose check runs."""
    return draw(other if draw(rarely(1 / (odds + 1))) else valid)


def _sized(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


# -- hostile scalars ------------------------------------------------------------------------

# Lengths around every cap the server has (names 100, strings 1000, URLs 2048, ids 200,
# titles 300, user agents 512, e-mails 254).  Longer ones would overflow the body limit
# (64 KiB) once a few are in one body: they are ``spoilers``, for the envelope fuzzer.
LENGTHS = (0, 1, 99, 100, 101, 199, 200, 201, 254, 255, 300, 301, 512, 999, 1000, 1001, 2047, 2048, 2049)
# One code point each, or grapheme pieces: RTL override, ZWJ emoji, combining marks, NUL,
# BOM, a non-BMP letter, the last code point, Arabic and superscript digits.
UNITS = ("a", "é", "😀", "\u202e", "👩\u200d👩\u200d👧", "e\u0301\u0302", "\x00", "\ufeff", "𝕏", "\U0010ffff", "٣", "²")
SPECIAL_STRINGS = (
    "",
    " ",
    "\t\r\n",
    "\x00",
    "a\x00b",
    "\u202eevil.exe\u202dtxt",
    "עברית מימין לשמאל",
    "مرحبا بالعالم",
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "\ud7ff\ue000\uffff",
    "²",
    "٣",
    "１２３",
    "𝟘𝟙",
    "NaN",
    "Infinity",
    "-0",
    "1e309",
    "null",
    "undefined",
    "[object Object]",
    "true",
    "{}",
    "'; DROP TABLE persons; --",
    "%s%s%n%x",
    "{0}{1}{__class__}",
    "${jndi:ldap://x/a}",
    "<script>alert(1)</script>",
    "../../../../etc/passwd",
    "*",
    "%",
    "_",
    "\\",
    "javascript:alert(1)",
    "http://",
    "http://[::1",
    "http://shop.test:99999/demo/",
    "http://shop.test/demo/?utm_source=%ff%fe&utm_campaign=%00",
    "//evil.test/demo/",
    "mailto:marc@example.com",
)
# JSON that Python will not write but a client can send.  Most of it parses (orjson
# reads big integers as floats, -0 as 0, \u0000 as NUL); some does not and is a 400.
RAW_NUMBERS = (
    "-0",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "5e-324",
    "1e-400",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "1E2",
    "0.0000000000000000000000000000001",
)
RAW_BROKEN = ('"\\ud800"', '"x\\udfff"', "NaN", "-Infinity", "1e999", '"\\u00"', "01", "+1", ".5", "0x10")

text = st.one_of(
    st.text(max_size=16),
    st.sampled_from(SPECIAL_STRINGS),
    st.builds(_sized, st.sampled_from(UNITS), st.sampled_from(LENGTHS)),
)
numbers = st.one_of(
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        (
            0,
            -1,
            1,
            2**31,
            2**53 + 1,
            2**63 - 1,
            2**63,
            2**64 - 1,
            -(2**63),
            1e308,
            -1e308,
            5e-324,
            -0.0,
            0.5,
            86400,
            86401,
        )
    ),
    st.sampled_from(RAW_NUMBERS).map(Raw),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text)


def _nest(depth: int, brackets: tuple[str, str]) -> Raw:
    return Raw(brackets[0] * depth + "1" + brackets[1] * depth)


BRACKETS = st.sampled_from((('{"a":', "}"), ("[", "]")))
# Nesting built as text: around MAX_DEPTH and orjson's dump limit (255), within its load limit (1024).
deep = st.builds(_nest, st.sampled_from((2, 3, 4, 10, 254, 255, 256, 600, 1000)), BRACKETS)
HOSTILE_KEYS = (
    "",
    " ",
    "email",
    "EMAIL",
    "E-Mail",
    "mail",
    "courriel",
    "e_mail ",
    "password",
    "csrf_token",
    "card_number",
    "job",
    "société",
    "prénom",
    "tel",
    "__proto__",
    "constructor",
    "$gt",
    "a.b",
    "a[0]",
    "title",
    "campaign",
    "seconds",
    "page",
    "url",
    "group_id",
    "\x00",
    "😀",
    "\u202e",
    "k" * 100,
    "k" * 101,
)
keys = st.one_of(st.sampled_from(HOSTILE_KEYS), st.text(max_size=12))


def _wide(n: int) -> dict[str, int]:
    return {f"k{i}": i for i in range(n)}


containers = st.one_of(
    st.lists(scalars, max_size=4),
    st.dictionaries(keys, scalars, max_size=4),
    st.builds(_wide, st.sampled_from((49, 50, 51, 200))),
    st.sampled_from((49, 50, 51, 500)).map(lambda n: [0] * n),
    st.lists(
        st.dictionaries(keys, st.lists(st.dictionaries(keys, scalars, max_size=2), max_size=2), max_size=2), max_size=2
    ),
    deep,
)
# Anything at all where a field is expected: another JSON type, long, deep, odd.
hostile = st.one_of(scalars, scalars, containers)
# What spoils a whole body wherever it is: JSON no parser takes, nesting past orjson's
# limit, a string past the body limit: the envelope fuzzer puts one in a body (``spoiled``).
spoilers = st.one_of(
    st.sampled_from(RAW_BROKEN).map(Raw),
    st.builds(_nest, st.sampled_from((1025, 5000)), BRACKETS),
    st.builds(_sized, st.sampled_from(UNITS), st.sampled_from((20_000, 70_000))),
)


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects in a body, outermost first (a body is small: walking it is cheap)."""
    found: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


@st.composite
def spoiled(draw: st.DrawFn, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with one spoiler in one of its objects."""
    body = copy.deepcopy(body)  # drawn values may be shared (st.just): never change them in place
    target = draw(st.sampled_from(_objects(body)))
    target[draw(st.sampled_from([*target, "x"]))] = draw(spoilers)
    return body


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]], fields: tuple[str, ...]) -> dict[str, Any]:
    """A valid-looking object with none, one, two or three of ``fields`` made hostile.

    Few at a time: an object with every field wrong is refused at the first one, so
    the checks of the others would never run; and a 5xx is easier to read.
    """
    value = dict(draw(valid))
    roll = draw(_percent)
    for _ in range((roll >= 50) + (roll >= 80) + (roll >= 93)):
        value[draw(st.sampled_from(fields))] = draw(hostile)
    return value


def object_of(
    required: dict[str, st.SearchStrategy[Any]],
    optional: dict[str, st.SearchStrategy[Any]],
    also: tuple[str, ...] = (),
) -> st.SearchStrategy[dict[str, Any]]:
    """An object with these fields valid-looking, then ``mutated`` (``also``: more keys to spoil)."""
    return mutated(st.fixed_dictionaries(required, optional=optional), (*required, *optional, *also))


# -- field values -----------------------------------------------------------------------------


def usual(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the values a real client sends, sometimes any string (long, odd Unicode)."""
    return weighted(values, text, odds=5)


# Values of the right JSON type with odd contents count as valid-looking: the server must
# read them (a URL that does not parse, an e-mail that is not one), not just type-check them.
urls = weighted(st.sampled_from(DEMO_PATHS).map(lambda path: BASE + path), text, odds=4)
emails = weighted(
    st.sampled_from(EMAILS),
    st.sampled_from(
        (
            "",
            "@",
            "a@",
            "@b.co",
            "a@b",
            "no-at-sign",
            "a@@b.co",
            "a b@c.de",
            "x@[127.0.0.1]",
            '"quoted"@example.com',
            "a@b.co\x00",
            "<script>@x.co",
            "null",
            "0",
            "a" * 64 + "@example.com",
            "a" * 65 + "@example.com",
            "a@" + "b" * 250 + ".com",
            "marc@example.com\n",
        )
    )
    | text,
    odds=2,
)
campaigns = weighted(st.sampled_from(CAMPAIGNS), usual(st.sampled_from(("no-such-campaign", "", "SALES-POPUP"))), 2)
# Milliseconds, as the beacon's Date.now().
NOW_MS = 1_767_225_600_000
client_ms = st.integers(NOW_MS - 10**9, NOW_MS + 10**9) | st.just(NOW_MS)
# Form fields and identify traits, under their own names and the aliases the server knows.
FORM_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "email": emails,
    "job_title": usual(st.sampled_from(("Acheteur", "Responsable achats", "student", "étudiant", "CTO"))),
    "company": usual(st.sampled_from(("ACME", "Clinique du Parc", "Ünïcödé SARL"))),
    "message": text,
    "password": text,
    "csrf_token": text,
    "price": st.sampled_from((499, 500, 9999, 10000, 25000, "10000", -1)),
}
form_fields = object_of({}, FORM_FIELDS, HOSTILE_KEYS)
KIND_PROPS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "page": object_of({}, {"price": FORM_FIELDS["price"]}, HOSTILE_KEYS),
    "download": object_of({}, {"page": urls}),
    "outbound": object_of({}, {"page": urls}),
    "click": st.dictionaries(keys, scalars, max_size=3),
    "form": form_fields,
    "identify": form_fields,
    "engaged": object_of(
        {"seconds": st.integers(0, 86400) | st.sampled_from((0.5, 86400.0))}, {"scroll": st.integers(0, 100)}
    ),
    "chat": object_of({"campaign": campaigns}, {"message": text}),
    "impression": object_of({"campaign": campaigns}, {}),
    "close": object_of({"campaign": campaigns}, {}),
    "conversion": object_of({"campaign": campaigns}, {}),
    "custom": object_of({}, {"price": numbers, "sku": text}, HOSTILE_KEYS),
}
names = usual(st.sampled_from(("cta-demo", "view_product", "nav")))
KIND_NAMES: dict[str, st.SearchStrategy[Any]] = {
    "form": usual(st.sampled_from(FORMS)),
    "custom": usual(st.sampled_from(("view_product", "signup", "é"))),
}
assert set(KIND_PROPS) == EVENT_TYPES, "every event kind has its properties"


def beacon_event(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """An event of ``kind`` as js/beacon.js sends it, a few of its fields hostile."""
    optional = {
        "url": urls,
        "ref": urls,
        "title": usual(st.sampled_from(("Démo", "Tarifs — imprimantes"))),
        "name": KIND_NAMES.get(kind, names),
        "t": client_ms,
    }
    return object_of({"type": st.just(kind), "props": KIND_PROPS[kind]}, optional)


beacon_events = st.one_of([beacon_event(kind) for kind in sorted(EVENT_TYPES)])
token_kinds = weighted(
    st.just("valid"), st.sampled_from(("forged", "foreign", "ghost", "tampered", "empty", "huge")), 1
)
tokens = st.builds(Ref, st.just("token"), token_kinds, st.integers(0, 50))
origins = st.sampled_from(("http://shop.test", "https://evil.test", "null", "http://[::1", ""))
user_agents = weighted(st.sampled_from((CHROME, ANDROID, IPAD)), hostile, odds=8)
ctx = object_of(
    {},
    {
        "screen": st.sampled_from(("mobile", "tablet", "desktop")),
        # Rare: a webdriver or a withdrawal ends the request before its events are read.
        "webdriver": weighted(st.just(False), st.just(True), odds=12),
        "consent": weighted(st.just(True), st.just(False), odds=12),
    },
)


@st.composite
def collect_shots(draw: st.DrawFn) -> Shot:
    """A /collect request with the real site key and hostile events."""
    count = draw(st.integers(1, 6))  # the handful of events a page sends at once
    # The envelope stays right (the envelope fuzzer breaks it): a token of any kind, rarely
    # something that is not a string; a time and a context, rarely of another type.
    envelope = {
        "vid": weighted(tokens, hostile, odds=12),
        "sent_at": weighted(client_ms, hostile, odds=12),
        "ctx": weighted(ctx, hostile, odds=12),
    }
    body: dict[str, Any] = draw(
        st.fixed_dictionaries(
            {"site": st.just(SITE), "events": st.lists(beacon_events, min_size=count, max_size=count)},
            optional=envelope,
        )
    )
    if draw(rarely(0.05)):
        # Up to MAX_EVENTS (50) and one beyond: plain page views around the fuzzed events.
        body["events"] += [{"type": "page", "url": BASE + path} for path in DEMO_PATHS * 5][
            : draw(st.sampled_from((50, 51))) - count
        ]
    headers: list[tuple[str, Any]] = [("user-agent", draw(user_agents))]
    if draw(rarely(0.1)):
        headers.append(("cookie", draw(tokens)))
    if draw(rarely(0.2)):
        # The beacon on a customer's site sends its page's origin: allowed, foreign or malformed.
        headers.append(("origin", draw(origins)))
    content_type = draw(st.sampled_from(("text/plain;charset=UTF-8", "application/json")))
    headers.append(("content-type", content_type))
    return Shot("POST", "/collect", body, tuple(headers), ascii=draw(st.booleans()), label="collect")


# -- Segment ------------------------------------------------------------------------------------

iso_times = st.sampled_from(
    (
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00.123456Z",
        "2026-01-01T00:00:00+01:00",
        "2025-12-31T23:59:59.999-05:00",
    )
)
odd_times = st.sampled_from(
    (
        "",
        "now",
        "2026-01-01",
        "2026-01-01T00:00:00",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
        "2026-01-01T00:00:00.123456789Z",
        "2026-01-01T00:00:00+25:00",
        "２０２６-01-01T00:00:00Z",
        "2026-W01-1T00:00:00Z",
        "1767225600",
    )
)
times = weighted(iso_times, odd_times, odds=3)
page_context = object_of({}, {"url": urls, "referrer": urls, "path": text, "title": text, "search": text})
context = object_of(
    {},
    {
        "userAgent": weighted(st.sampled_from((CHROME, ANDROID, IPAD)), st.just("Googlebot/2.1") | text, odds=6),
        "page": page_context,
        "ip": usual(st.sampled_from(("203.0.113.9", "2001:db8::1"))),
        "library": st.just({"name": "analytics-python", "version": "2.3.3"}),
        "traits": form_fields,
        "locale": text,
    },
)
track_properties = object_of(
    {},
    {
        "url": urls,
        "email": emails,
        "campaign": campaigns,
        "seconds": st.integers(0, 86400),
        "price": numbers,
        "name": usual(st.sampled_from(FORMS)),
        "form": usual(st.sampled_from(FORMS)),
        "page": urls,
        "referrer": urls,
        "title": text,
    },
    HOSTILE_KEYS,
)
MESSAGE_FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "identify": {"traits": form_fields},
    "track": {"event": usual(st.sampled_from(TRACK_NAMES)), "properties": track_properties},
    "page": {"name": usual(st.sampled_from(("Home", "Tarifs"))), "properties": track_properties},
    "screen": {"name": usual(st.sampled_from(("Home", "Settings"))), "properties": track_properties},
    "group": {"groupId": usual(st.sampled_from(("g-1", "acme"))), "traits": form_fields},
    "alias": {"previousId": usual(st.sampled_from(DEVICES))},
}
assert set(MESSAGE_FIELDS) == set(SEGMENT_CALLS), "every Segment call has its fields"
# Ids from small pools, so messages meet the same devices, users and message ids again.
user_ids = usual(st.sampled_from(USER_IDS))
# Fields a call cannot do without: always there (maybe hostile), so most messages are usable.
MESSAGE_REQUIRED = {"track": ("event",), "group": ("groupId",), "alias": ("previousId", "userId")}


def segment_message(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """A Segment ``kind`` message, a few of its fields hostile."""
    optional = {
        "userId": user_ids,
        # Mostly new ids (filled in when sent), sometimes ids seen before: a duplicate is skipped.
        "messageId": weighted(st.just(Ref("fresh", "messageId")), usual(st.sampled_from(MESSAGE_IDS)), odds=3),
        "timestamp": times,
        "sentAt": times,
        "context": context,
        "integrations": st.just({"All": True}),
        **MESSAGE_FIELDS[kind],
    }
    required = {"type": st.just(kind), "anonymousId": usual(st.sampled_from(DEVICES))}
    required |= {name: optional.pop(name) for name in MESSAGE_REQUIRED.get(kind, ())}
    return object_of(required, optional)


segment_messages = st.one_of([segment_message(kind) for kind in SEGMENT_CALLS])
MALFORMED_AUTH = ("Basic", "Basic !!!", "Basic w6k=", "Bearer x", "basic  ")


@st.composite
def credentials(draw: st.DrawFn, how: str) -> tuple[tuple[str, Any], ...]:
    """The Authorization header for a write key given ``how``: as the Basic user (ingest,
    admin, or the wrong ones), malformed, or none ("body": the key is in the body)."""
    if how == "malformed":
        return (("authorization", draw(st.sampled_from(MALFORMED_AUTH))),)
    if how in ("none", "body"):
        return ()
    return (("authorization", Ref("basic", how)),)


@st.composite
def segment_shots(draw: st.DrawFn) -> Shot:
    """A /v1 call with a working write key: one message to its path (or its short path), or a
    batch; sometimes gzipped."""
    if draw(st.booleans()):
        kind = draw(st.sampled_from(sorted(SEGMENT_CALLS)))
        path = f"/v1/{draw(st.sampled_from((kind, SEGMENT_CALLS[kind])))}"
        body: dict[str, Any] = draw(segment_message(kind))
        label = kind
    else:
        count = draw(st.integers(1, 8))
        batch = {"batch": st.lists(segment_messages, min_size=count, max_size=count)}
        optional = {"context": weighted(context, hostile, odds=8), "sentAt": weighted(times, hostile, odds=8)}
        body = draw(st.fixed_dictionaries(batch, optional=optional))
        path = draw(st.sampled_from(("/v1/batch", "/v1/b")))
        label = "batch"
    # As analytics SDKs send it (the Basic user), as analytics.js may (in the body), or an admin key.
    how = draw(weighted(st.just("ingest"), st.sampled_from(("admin", "body")), odds=4))
    if how == "body":
        body["writeKey"] = Ref("key", "ingest")
    headers = (("content-type", "application/json"), *draw(credentials(how)))
    gzip = draw(weighted(st.none(), st.just("valid"), odds=4))
    return Shot("POST", path, body, headers, gzip, ascii=draw(st.booleans()), label=label)


# -- hostile envelopes ------------------------------------------------------------------------

# The suite's first fuzzer, kept: random JSON where the envelope fields are (site, events, vid, ctx).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
loose_events = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(EVENT_TYPES)) | st.text(max_size=8)},
    optional={
        "url": st.just(BASE + "/demo/blog/qualite/a") | json_values,
        "name": st.text(max_size=20) | json_values,
        "props": st.dictionaries(
            st.sampled_from(["email", "seconds", "campaign", "price", "x"]), json_values, max_size=4
        )
        | json_values,
        "t": st.integers() | json_values,
    },
)
loose_payloads = st.fixed_dictionaries(
    {"site": st.just(SITE) | json_values, "events": st.lists(loose_events, max_size=6) | json_values},
    optional={"vid": json_values, "ctx": json_values, "sent_at": json_values},
)
junk_bytes = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.sampled_from(
        (
            b"",
            b"{",
            b"\xef\xbb\xbf{}",
            b'{"site":"demo","events":[{"type":"page"}]}\x00',
            b'{"site":"demo","site":{"a":1},"events":[{"type":"page"}]}',
            b'{"site":"demo","events":[{"type":"page","type":["page"]}]}',
            b'{"site":"d\\u0000emo","events":[{"type":"page"}]}',
            b'{"site":"demo","events":[' + b'{"type":"page"},' * 60 + b'{"type":"page"}]}',
            b'{"site":"demo","events":[{"type":"page","url":"' + b"a" * 70_000 + b'"}]}',
        )
    ),
)


# The fields each API reads before the events or messages: its envelope.
ENVELOPES = {
    "/collect": ("site", "events", "vid", "ctx", "sent_at"),
    "/v1/": ("batch", "context", "sentAt", "writeKey"),
}
site_keys = st.sampled_from(("", "DEMO", "demo ", " demo", "unknown", "d" * 64, "d" * 65, "demo\x00"))
content_types = st.sampled_from(
    ("text/plain", "application/json", "", "multipart/form-data", "application/json; charset=latin-1")
)


# How the envelope fuzzer breaks a request of each API.
BREAKAGES = {"/collect": ("field", "spoiler", "loose", "bytes"), "/v1/": ("field", "spoiler", "bytes", "key", "gzip")}


@st.composite
def envelope_shots(draw: st.DrawFn, api: str) -> Shot:
    """A call to ``api`` ("/collect" or "/v1/") with a hostile envelope: one envelope field
    wrong, a spoiler inside, loose JSON or raw bytes instead of the body; for /v1 a wrong
    write key or broken gzip; odd content types."""
    shot = draw(collect_shots() if api == "/collect" else segment_shots())
    body, gzip, headers = shot.body, shot.gzip, [(k, v) for k, v in shot.headers if k != "content-type"]
    how = draw(st.sampled_from(BREAKAGES[api]))
    if how == "field":
        # One envelope field wrong: the checks after the first are reached too.
        body = {**body, draw(st.sampled_from(ENVELOPES[api])): draw(site_keys | hostile)}
    elif how == "spoiler":
        body = draw(spoiled(body))
    elif how == "loose":
        body = draw(loose_payloads)
    elif how == "bytes":
        body = draw(junk_bytes)
    elif how == "key":
        headers = [(k, v) for k, v in headers if k != "authorization"]
        headers += draw(credentials(draw(st.sampled_from(("sales", "unknown", "malformed", "none")))))
        if "writeKey" in body:
            body = {**body, "writeKey": draw(st.sampled_from((Ref("key", "sales"), Ref("key", "unknown"), "")))}
    else:
        gzip = draw(st.sampled_from(("invalid", "truncated")))
    headers.append(("content-type", draw(content_types)))
    return replace(shot, body=body, headers=tuple(headers), gzip=gzip, label=f"{shot.label} envelope")


# -- path and query parameters --------------------------------------------------------------------

# What an integer parameter parser meets: Unicode digits ("²".isdigit() is true, int("²")
# raises), signs, spaces, floats, beyond 64 bits, nothing.
NUMBERISH: tuple[str, ...] = (
    "",
    "0",
    "-1",
    "+1",
    " 1",
    "1 ",
    "1.0",
    "1e3",
    "0x10",
    "²",
    "٣",
    "１",
    "𝟙",
    "9" * 18,
    "9" * 19,
)
NUMBERISH += ("18446744073709551616", "-9223372036854775809", "NaN", "inf", "1e308", "-1e308")
# Values some parameter of some route takes: ids, owners, identities, stages, scores, statuses, dates.
KNOWN_VALUES: tuple[str, ...] = (
    "1",
    "2",
    "3",
    "amelie",
    "chloe",
    "nobody",
    "marc@example.com",
    "u-1",
    "known,mql,sql",
    "sql,",
)
KNOWN_VALUES += ("engagement", "medical", "pending", "dead", "2026-01-01", "2026-01-01T00:00:00Z", "1767225600")
KNOWN_VALUES += ("0001-01-01T00:00:00+14:00", "null", "true", "%", "%00", "a/b", "..")
param_values = st.one_of(
    st.sampled_from(NUMBERISH),
    st.sampled_from(NUMBERISH),
    st.sampled_from(KNOWN_VALUES),
    st.text(max_size=20),
    st.integers().map(str),
    # Long, but a few of them percent-encoded must still fit in a URL (httpx stops at 64 KiB).
    st.builds(_sized, st.sampled_from(UNITS), st.sampled_from((255, 600))),
)


def api_operations() -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, path, documented query parameters) of every route but the two ingest APIs'
    own (POST /collect and /v1, which their fuzzers cover).

    Read from the app's own route list, so an undocumented route is fuzzed too.
    """
    documented = document()["paths"]
    found: list[tuple[str, str, tuple[str, ...]]] = []
    for route in routes(Settings(demo=True)):
        if not isinstance(route, Route) or route.path.startswith("/v1/"):
            continue
        methods = route.methods or set()
        if route.path == "/collect" and "POST" in methods:
            continue
        # HEAD is GET without a body; OPTIONS only where it is a route of its own (the CORS preflight).
        for method in sorted(methods - {"HEAD", "OPTIONS"} or methods):
            operation = documented.get(route.path, {}).get(method.lower(), {})
            query = tuple(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")
            found.append((method, route.path, query))
    return found


# Parameters some handler reads, offered to every route: a route must ignore what it does not read.
QUERY_NAMES: tuple[str, ...] = (
    "limit",
    "days",
    "before",
    "cursor",
    "since",
    "min_score",
    "stage",
    "score",
    "queue",
    "owner",
    "status",
)
QUERY_NAMES += ("email", "user_id", "t", "off", "sujet")
# A small programme a what-if replays the fuzzed server's history through.
WHAT_IF_PROGRAMME = (
    '[scores.engagement]\nmql = 3\n\n[[rules]]\nid = "pages"\nscore = "engagement"\nwhen = { type = "page" }\n'
    'points = 1\nlimit = "always"\n'
)
API_BODIES = {
    ("PUT", "/api/owners/{owner}"): object_of({"available": st.booleans()}, {}),
    ("POST", "/api/webhooks"): object_of(
        {"url": usual(st.sampled_from(("http://127.0.0.1:9/hook", "https://crm.example/hook")))},
        {"events": st.lists(usual(st.sampled_from(EVENTS)), max_size=3)},
    ),
    ("POST", "/api/programme/what-if"): object_of(
        {"programme": usual(st.sampled_from((WHAT_IF_PROGRAMME, WHAT_IF_PROGRAMME.replace("= 1", "= 5"), "")))},
        {"days": st.integers(-5, 4000), "again": st.booleans()},
    ),
}


@st.composite
def api_shots(draw: st.DrawFn, operations: list[tuple[str, str, tuple[str, ...]]]) -> Shot:
    """A call to any route with hostile path and query parameters, authenticated as admin."""
    method, path, documented = draw(st.sampled_from(operations))
    path_params = tuple(
        (name, draw(weighted(param_values, st.builds(Ref, st.just("id"), st.just(name), st.integers(0, 20)), odds=1)))
        for name in re.findall(r"{(\w+)}", path)
    )
    names = draw(st.lists(st.sampled_from(documented + QUERY_NAMES), max_size=4, unique=True))
    query = tuple((name, draw(param_values)) for name in names)
    body = draw(weighted(API_BODIES[method, path], hostile)) if (method, path) in API_BODIES else None
    auth = draw(weighted(st.just("admin"), st.sampled_from(("sales", "ingest")), odds=8))
    headers: tuple[tuple[str, Any], ...] = (("authorization", Ref("bearer", auth)),)
    if draw(rarely(0.3)):
        headers += (("origin", draw(origins)),)
    return Shot(method, path, body, headers, path_params=path_params, query=query, label=f"{method} {path}")
