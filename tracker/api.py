"""The sales API: leads, one lead's whole story, and visitor lookup.

Every route needs an API key of its site (see ``keys``).  Scores are returned as
they are *now*, decay applied, and the ledger that explains them comes along.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from . import privacy
from .errors import BadRequest, NotFound
from .keys import authenticate
from .model import STAGES
from .runtime import Runtime
from .scoring import current_scores
from .sites import Site
from .store import PersonRecord, Queries

DEFAULT_LEAD_STAGES = ("known", "mql", "sql")
MAX_LIMIT = 500
LEDGER_LIMIT = 1000
TIMELINE_LIMIT = 2000


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def list_leads(request: Request) -> Response:
    key = await authenticate(request, "sales")
    runtime: Runtime = request.app.state.runtime
    site = _site(runtime, key.site_id)
    params = request.query_params
    stages = _stages(params.get("stage"))
    score = params.get("score") or site.programme.primary_score
    if score is None or score not in site.programme.scoring.scores:
        raise BadRequest(f"unknown score {score!r}", field="score")
    min_score = _number(params.get("min_score"), "min_score")
    since = _since(params.get("since"))
    limit_raw = params.get("limit", "50")
    limit = int(limit_raw) if limit_raw.isdigit() else 0
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be from 1 to {MAX_LIMIT}", field="limit")

    async def fetch(q: Queries) -> list[PersonRecord]:
        return await q.leads(site.id, stages, score=score, min_score=min_score, since=since, limit=limit)

    now = runtime.clock()
    leads = []
    for person in await runtime.store.read(fetch):
        summary = _summary(site, person, now)
        # Stored values bound decayed ones from above, so the SQL filter never drops a match.
        if min_score is None or summary["scores"][score] >= min_score:
            leads.append(summary)
    leads.sort(key=lambda lead: (-lead["scores"][score], lead["id"]))
    return json_response({"score": score, "count": len(leads), "leads": leads})


async def get_lead(request: Request) -> Response:
    key = await authenticate(request, "sales")
    runtime: Runtime = request.app.state.runtime
    site = _site(runtime, key.site_id)
    raw_id = request.path_params["person_id"]
    # isascii: "²".isdigit() is true; 18 digits: larger ids overflow the database's 64-bit integers.
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
        raise BadRequest("a lead id is a number", field="person_id")
    requested = int(raw_id)

    async def fetch(q: Queries) -> dict[str, Any] | None:
        person_id = await q.resolve_person_id(requested)
        person = await q.person(person_id) if person_id is not None else None
        if person is None or person.site_id != site.id:
            return None
        return {
            "person": person,
            "stages": await q.stages_of(person.id),
            "ledger": await q.ledger_of(person.id, LEDGER_LIMIT),
            "timeline": await q.timeline(person.id, TIMELINE_LIMIT),
            "devices": await q.visitors_of(person.id),
            "aliases": await q.aliases_of(person.id),
            "decisions": await q.decisions_of(person.id, LEDGER_LIMIT),
        }

    found = await runtime.store.read(fetch)
    if found is None:
        raise NotFound(f"no lead {requested}", field="person_id")
    person: PersonRecord = found["person"]
    body = _summary(site, person, runtime.clock())
    body.update(
        {
            "resolved_from": requested if requested != person.id else None,
            "merged_ids": found["aliases"],
            "stages": [{**row, "ts": iso(row["ts"])} for row in found["stages"]],
            "ledger": [{**row, "ts": iso(row["ts"])} for row in found["ledger"]],
            "timeline": [{**row, "ts": iso(row["ts"])} for row in found["timeline"]],
            "decisions": [{**row, "ts": iso(row["ts"])} for row in found["decisions"]],
            "devices": [
                {
                    "id": device.id,
                    "type": device.device,
                    "browser": device.browser,
                    "visits": device.visits,
                    "first_seen_at": iso(device.created_at),
                    "last_seen_at": iso(device.last_seen_at),
                }
                for device in found["devices"]
            ],
        }
    )
    return json_response(body)


async def get_visitor(request: Request) -> Response:
    """Which person a signed visitor token belongs to (for support and tests)."""
    key = await authenticate(request, "sales")
    runtime: Runtime = request.app.state.runtime
    site = _site(runtime, key.site_id)
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
    body = _summary(site, found.person, now)
    body.update({"exported_at": iso(now), "merged_ids": found.merged_ids, "data": found.tables})
    return json_response(body)


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
    ref = privacy.person_ref(request.path_params.get("person_id"), params.get("email"), params.get("user_id"))
    return runtime, _site(runtime, key.site_id), ref, f"key:{key.id}"


def _ref_field(ref: privacy.PersonRef) -> str:
    return "person_id" if ref.by == "id" else ref.by


def _summary(site: Site, person: PersonRecord, now: float) -> dict[str, Any]:
    return {
        "id": person.id,
        "email": person.email,
        "user_id": person.user_id,
        "stage": person.stage,
        "scores": current_scores(site.programme.scoring, person.scoring, now),
        "profile": person.profile,
        "created_at": iso(person.created_at),
        "identified_at": iso(person.identified_at),
        "last_seen_at": iso(person.last_seen_at),
    }


def _site(runtime: Runtime, site_id: int) -> Site:
    site = runtime.sites.by_id(site_id)
    if site is None:
        raise NotFound("this key's site is not loaded", field="authorization")
    return site


def _stages(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return DEFAULT_LEAD_STAGES
    stages = tuple(s.strip() for s in raw.split(",") if s.strip())
    unknown = [s for s in stages if s not in STAGES]
    if unknown or not stages:
        raise BadRequest(f"unknown stage {unknown[0] if unknown else raw!r}; use {', '.join(STAGES)}", field="stage")
    return stages


def _number(raw: str | None, field: str) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise BadRequest(f"{field} must be a number", field=field) from None


def _since(raw: str | None) -> float | None:
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest("since must be an ISO 8601 time or POSIX seconds", field="since") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
