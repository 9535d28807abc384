"""The sales API handlers: one lead's whole story, re-routing, owners, visitor lookup, and a
person's export and erasure (admin).  Every route needs an API key of its site.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tracker.domain.clock import iso
from tracker.domain.identity import IdentityError, normalise_email, normalise_user_id
from tracker.domain.leads import lead_summary
from tracker.domain.outcomes import OutcomeError, check_outcome
from tracker.domain.routing import owners_of
from tracker.domain.sites import Site
from tracker.errors import BadRequest, NotFound
from tracker.services import privacy
from tracker.services.handoff import reroute
from tracker.services.leads import lead_story
from tracker.services.outcomes import record_outcome
from tracker.services.privacy import PersonRef
from tracker.services.runtime import Runtime
from tracker.store import Queries
from tracker.web.auth import authenticate, site_of
from tracker.web.params import int_param, text_param
from tracker.web.responses import json_response


async def get_lead(request: Request) -> Response:
    key = await authenticate(request, "sales")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    requested = int_param(request.path_params["person_id"], "person_id")
    story = await runtime.store.read(lambda q: lead_story(q, site, requested, runtime.clock()))
    if story is None:
        raise NotFound(f"no lead {requested}", field="person_id")
    return json_response(story)


async def reroute_lead(request: Request) -> Response:
    """Re-evaluate the routing table for one lead: routing never moves a lead silently."""
    key = await authenticate(request, "sales")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    requested = int_param(request.path_params["person_id"], "person_id")
    now = runtime.clock()

    async def unit(q: Queries) -> tuple[int, dict[str, Any] | None] | None:
        person_id = await q.resolve_person_id(requested)
        person = await q.person(person_id, for_update=True) if person_id is not None else None
        if person is None or person.site_id != site.id:
            return None
        return person.id, await reroute(q, site, person, actor=f"key:{key.id}", now=now)

    done = await runtime.store.write(unit)
    if done is None:
        raise NotFound(f"no lead {requested}", field="person_id")
    person_id, routed = done
    story = await runtime.store.read(lambda q: lead_story(q, site, person_id, now))
    assert story is not None
    return json_response({"changed": routed is not None, "id": person_id, "routing": story["routing"]})


async def record_lead_outcome(request: Request) -> Response:
    """What became of a lead (contacted, meeting, won with its value, lost with its reason): 201 with the outcome."""
    key = await authenticate(request, "sales")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    requested = int_param(request.path_params["person_id"], "person_id")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadRequest("body must be JSON", field="body") from None
    if not isinstance(body, dict):
        raise BadRequest('expected an object such as {"kind": "won", "value": 12000}', field="body")
    try:
        outcome = check_outcome(body)
    except OutcomeError as exc:
        raise BadRequest(exc.message, field=exc.field) from None
    recorded = await record_outcome(runtime.store, site, requested, outcome, actor=f"key:{key.id}", now=runtime.clock())
    if recorded is None:
        raise NotFound(f"no lead {requested}", field="person_id")
    return json_response(recorded, 201)


async def list_owners(request: Request) -> Response:
    """The owners the routes name: the queues they serve, availability and leads assigned now."""
    key = await authenticate(request, "sales")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    return json_response({"owners": await runtime.store.read(lambda q: _owners(q, site))})


async def set_owner(request: Request) -> Response:
    """``{"available": false}`` while an owner is away: round robin skips them until set back."""
    key = await authenticate(request, "sales")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    owner = request.path_params["owner"]
    if owner not in owners_of(site.programme.routes):
        raise NotFound(f"no route of this site names owner {owner!r}", field="owner")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadRequest("body must be JSON", field="body") from None
    available = body.get("available") if isinstance(body, dict) else None
    if not isinstance(available, bool):
        raise BadRequest('expected {"available": true} or {"available": false}', field="available")
    now = runtime.clock()
    await runtime.store.write(lambda q: q.set_owner_available(site.id, owner, available, now))
    owners = await runtime.store.read(lambda q: _owners(q, site))
    return json_response(next(entry for entry in owners if entry["owner"] == owner))


async def _owners(q: Queries, site: Site) -> list[dict[str, Any]]:
    unavailable = await q.unavailable_owners(site.id)
    assigned = await q.open_leads_by_owner(site.id)
    return [
        {"owner": owner, "available": owner not in unavailable, "queues": queues, "leads": assigned.get(owner, 0)}
        for owner, queues in owners_of(site.programme.routes).items()
    ]


async def get_visitor(request: Request) -> Response:
    """Which person a signed visitor token belongs to (for support and tests)."""
    key = await authenticate(request, "sales")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    visitor_id = runtime.tokens.verify(site.key, request.path_params["token"])
    visitor = await runtime.store.read(lambda q: q.visitor(visitor_id, site.id)) if visitor_id else None
    if visitor is None:
        raise NotFound("no such visitor on this site", field="token")
    return json_response({"person_id": visitor.person_id, "visits": visitor.visits, "device": visitor.device})


async def export_person(request: Request) -> Response:
    """Right of access: everything held about one person, as JSON (admin key; audited)."""
    runtime, site, ref, actor = await _privacy_request(request)
    now = runtime.clock()
    found = await privacy.export_person(runtime.store, site.id, ref, actor=actor, now=now)
    if found is None:
        raise NotFound("no such person on this site", field=_ref_field(ref))
    return json_response(export_body(site, found, now))


def export_body(site: Site, found: privacy.Export, now: float) -> dict[str, Any]:
    """A person's export as the API and the console's download give it."""
    body = lead_summary(site, found.person, now)
    body.update({"exported_at": iso(now), "merged_ids": found.merged_ids, "data": found.tables})
    return body


async def erase_person(request: Request) -> Response:
    """Right to erasure: the person and every row pointing at them, in one transaction (admin key; audited)."""
    runtime, site, ref, actor = await _privacy_request(request)
    erased = await privacy.erase_person(runtime.store, site.id, ref, actor=actor, now=runtime.clock())
    if erased is None:
        raise NotFound("no such person on this site", field=_ref_field(ref))
    return json_response({"erased": erased.person_id, "merged_ids": erased.merged_ids, "deleted": erased.deleted})


async def _privacy_request(request: Request) -> tuple[Runtime, Site, privacy.PersonRef, str]:
    """The admin key's site, the person the request names (path id, or ?email= / ?user_id=) and the actor."""
    key = await authenticate(request, "admin")
    runtime: Runtime = request.app.state.runtime
    params = request.query_params
    ref = person_ref(request.path_params.get("person_id"), params.get("email"), params.get("user_id"))
    return runtime, site_of(runtime, key.site_id), ref, f"key:{key.id}"


def _ref_field(ref: privacy.PersonRef) -> str:
    return "person_id" if ref.by == "id" else ref.by


def person_ref(person_id: str | None, email: str | None, user_id: str | None) -> PersonRef:
    """The one way of naming a person a request used; BadRequest if none or several."""
    given = [(by, value) for by, value in (("id", person_id), ("email", email), ("user_id", user_id)) if value]
    if len(given) != 1:
        raise BadRequest("name the person by id, or by exactly one of email and user_id", field="email")
    by, value = given[0]
    try:
        if by == "email":
            return PersonRef("email", normalise_email(text_param(value, by)))
        if by == "user_id":
            return PersonRef("user_id", normalise_user_id(text_param(value, by)))
    except IdentityError as exc:
        raise BadRequest(str(exc), field=by) from None
    return PersonRef("id", str(int_param(value, "person_id")))
