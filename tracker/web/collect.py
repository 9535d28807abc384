"""``POST /collect``: the beacon's one endpoint.

The handler reads top to bottom as the steps it takes:
validate → drop bots and internal traffic → identify → store → score → decide → respond.
Store, score and decide run as one unit inside one durable transaction, so the
decision in the response already sees the score this very request earned, and the
response is only sent once everything it acknowledges is on disk.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from tracker.domain.devices import device_of
from tracker.domain.privacy import admit, consent_in, ip_prefix
from tracker.domain.sites import Site, normalise_origin
from tracker.errors import BadRequest, Forbidden, HTTPError, NotFound, PayloadTooLarge
from tracker.services import metrics
from tracker.services.abuse import FLAGGED, INTERNAL, TOO_FAST, page_views, quarantine
from tracker.services.ingest import Outcome, process
from tracker.services.runtime import Runtime
from tracker.store import Queries
from tracker.web.validation import MAX_BODY_BYTES, parse_json, parse_payload

COOKIE = "tk_vid"
COOKIE_MAX_AGE = 396 * 86400  # 13 months, the CNIL's ceiling for audience cookies
_CREDENTIALS = [(b"access-control-allow-credentials", b"true"), (b"vary", b"Origin")]


async def collect(request: Request) -> Response:
    started = time.perf_counter()
    try:
        response = await _collect(request)
    except HTTPError as exc:
        metrics.REQUESTS_REFUSED.labels(exc.code, exc.field or "").inc()
        raise
    metrics.INGEST_SECONDS.observe(time.perf_counter() - started)
    return response


async def _collect(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    now = runtime.clock()
    # A flood from one address is refused before its body is even read.
    address = runtime.guard.check_client(request, now)

    # 1. Validate: envelope errors raise a 4xx naming the field; bad events are listed.
    data = parse_json(await read_body(request))
    consent = consent_in(data)
    if consent is False:
        return _forget_visitor(request)
    payload = parse_payload(data, now)
    site = runtime.sites.get(payload.site)
    if site is None:
        raise NotFound(f"unknown site {payload.site!r}", field="site")
    origin = request.headers.get("origin")
    if origin and not _origin_allowed(site, origin, request):
        raise Forbidden(f"origin {origin} is not allowed for site {site.key!r}", field="origin")
    rejected = [r.to_json() for r in payload.rejected]
    for rejection in payload.rejected:
        metrics.EVENTS.labels("rejected", metrics.rejection_reason(rejection.field)).inc()
    if not payload.events:
        raise BadRequest("no valid event in this request", field="events", rejected=rejected)
    # Privacy: a consent-required site keeps nothing without consent; an honoured DNT or
    # GPC signal withholds passive events, never what the visitor sent on purpose.
    admitted = admit(site.privacy, consent, request.headers, payload.events)
    if admitted.withheld:
        metrics.EVENTS.labels("withheld", admitted.reason).inc(admitted.withheld)
    if not admitted.events:
        return _json({"vid": None, "decisions": [], "rejected": rejected, "ignored": admitted.reason}, origin)
    events = admitted.events

    # 2. Drop bots and internal traffic: counted, never stored, scored or shown anything.
    user_agent = request.headers.get("user-agent", "")
    ignored = runtime.guard.screen(request, site, address, user_agent, payload.webdriver)
    if ignored is not None:
        return _ignored(runtime, site, ignored, len(events), rejected, origin, now)
    device = device_of(user_agent)

    # 3. Identify the device: a missing, tampered or foreign token simply starts a new visitor.
    presented: str | None = None
    visitor_id: str | None = None
    for candidate in (payload.token, request.cookies.get(COOKIE)):
        visitor_id = runtime.tokens.verify(site.key, candidate)
        if visitor_id is not None:
            presented = candidate
            break
    if visitor_id is not None:
        runtime.guard.limiter.check_visitor(site.id, visitor_id, now)
    # Arrival times say nothing of a browser's pace: only the beacon's own times are judged.
    views = page_views(events) if payload.client_times else []
    if runtime.guard.pages.too_fast(visitor_id, views):
        if visitor_id is not None:
            caught = visitor_id
            await runtime.store.write(lambda q: quarantine(q, site, caught, TOO_FAST, now))
        return _ignored(runtime, site, TOO_FAST, len(events), rejected, origin, now)

    # 4–6. Store, score and decide, durably, in one unit.
    ip = ip_prefix(site.privacy, address)

    async def unit(q: Queries) -> Outcome:
        outcome = await process(q, site, visitor_id, events, device, now, runtime.new_visitor_id)
        if ip is not None and outcome.bot is None:
            await q.set_ip_prefix(outcome.visitor_id, ip)
        return outcome

    outcome = await runtime.store.write(unit)
    if outcome.bot is not None:
        return _ignored(runtime, site, FLAGGED, len(events), rejected, origin, now)
    runtime.guard.pages.remember(outcome.visitor_id, views)

    # 7. Respond with the (possibly new) signed token and this request's decisions.
    metrics.ACCEPTED_EVENTS.inc(len(events))
    for decision in outcome.decisions:
        metrics.DECISIONS.labels(decision.kind).inc()
    # A returning device keeps the token it presented: signing is deterministic, so re-signing
    # would only spend an HMAC to produce the same string.
    kept = presented if presented is not None and outcome.visitor_id == visitor_id else None
    token = kept if kept is not None else runtime.tokens.sign(site.key, outcome.visitor_id)
    body = {"vid": token, "decisions": [d.to_json() for d in outcome.decisions], "rejected": rejected}
    response = _json(body, origin)
    response.raw_headers.append((b"set-cookie", visitor_cookie(request, token, COOKIE_MAX_AGE).encode("latin-1")))
    return response


def _ignored(
    runtime: Runtime,
    site: Site,
    reason: str,
    events: int,
    rejected: list[dict[str, Any]],
    origin: str | None,
    now: float,
) -> Response:
    runtime.guard.ignored.add(site.id, reason, events, now)
    # The answer does not say which signal gave a bot away.
    body = {"vid": None, "decisions": [], "rejected": rejected, "ignored": INTERNAL if reason == INTERNAL else "bot"}
    return _json(body, origin)


def _forget_visitor(request: Request) -> Response:
    """Consent withdrawn: keep nothing, and expire the HttpOnly cookie the page cannot delete."""
    # The answer holds nothing worth protecting, so it goes to whichever origin asked.
    body: dict[str, Any] = {"vid": None, "decisions": [], "rejected": [], "ignored": "consent"}
    response = _json(body, request.headers.get("origin"))
    response.raw_headers.append((b"set-cookie", visitor_cookie(request, "", 0).encode("latin-1")))
    return response


def visitor_cookie(request: Request, token: str, max_age: int) -> str:
    # Tokens are URL-safe base64 and dots: no quoting needed, so skip http.cookies.
    secure = "; Secure" if request.scope["scheme"] == "https" else ""
    return f"{COOKIE}={token}; HttpOnly; Max-Age={max_age}; Path=/; SameSite=lax{secure}"


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refused (413) as soon as it is known to exceed ``limit`` bytes, declared or streamed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body is larger than {limit} bytes", field="body")
    # From ``receive`` itself: Starlette's ``request.stream()`` is an async generator, a few
    # objects more per call for a body that nearly always comes in one message.
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is larger than {limit} bytes", field="body")
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def own_origin(request: Request) -> str:
    """This server's origin as the browser sees it (same-origin requests are always allowed)."""
    return normalise_origin(f"{request.scope['scheme']}://{request.headers.get('host', '')}")


def _origin_allowed(site: Site, origin: str, request: Request) -> bool:
    return normalise_origin(origin) == own_origin(request) or site.allows_origin(origin)


def _json(body: Any, origin: str | None) -> Response:
    response = Response(orjson.dumps(body), media_type="application/json")
    if origin:
        # Header pairs added as they go out: ``response.headers[...] = …`` looks for the name
        # among the others first, each time (about 5 µs of a beacon call for these four).
        response.raw_headers += [(b"access-control-allow-origin", origin.encode("latin-1")), *_CREDENTIALS]
    return response
