"""Handlers for webhooks (admin): subscribe, list, delete, inspect deliveries, re-send one."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tracker.domain.clock import iso
from tracker.errors import BadRequest, NotFound
from tracker.services.runtime import Runtime
from tracker.services.webhooks import STATUSES, add_webhook, redeliver, remove_webhook, webhooks_of
from tracker.web.auth import authenticate, site_of
from tracker.web.params import int_param
from tracker.web.responses import json_response

MAX_LIMIT = 500


# ---------------------------------------------------------------------------
# HTTP API (admin key)


async def list_webhooks(request: Request) -> Response:
    runtime, site_id, _ = await _admin(request)
    return json_response({"webhooks": await webhooks_of(runtime.store, site_id)})


async def create_webhook(request: Request) -> Response:
    runtime, site_id, actor = await _admin(request)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadRequest("body must be JSON", field="body") from None
    if not isinstance(body, dict):
        raise BadRequest('expected {"url": "...", "events": [...]}', field="body")
    created = await add_webhook(
        runtime.store, site_id, body.get("url"), body.get("events"), runtime.clock(), actor=actor
    )
    return json_response(created, 201)


async def delete_webhook(request: Request) -> Response:
    runtime, site_id, actor = await _admin(request)
    webhook_id = int_param(request.path_params["webhook_id"], "webhook_id")
    if not await remove_webhook(runtime.store, site_id, webhook_id, actor=actor, now=runtime.clock()):
        raise NotFound(f"no webhook {webhook_id}", field="webhook_id")
    return json_response({"deleted": webhook_id})


async def list_deliveries(request: Request) -> Response:
    """Deliveries newest first: ``status`` (pending, delivered, dead), ``limit``, ``before`` (an id)."""
    runtime, site_id, _ = await _admin(request)
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}", field="status")
    limit = int_param(params.get("limit"), "limit", minimum=1, maximum=MAX_LIMIT, default=50)
    before = int_param(params["before"], "before") if params.get("before") else None
    rows = await runtime.store.read(lambda q: q.deliveries(site_id, status, before, limit))
    deliveries = [
        {
            **row,
            "occurred_at": iso(row["occurred_at"]),
            "next_attempt_at": iso(row["next_attempt_at"]) if row["status"] == "pending" else None,
            "delivered_at": iso(row["delivered_at"]),
        }
        for row in rows
    ]
    for delivery in deliveries:
        del delivery["site_id"]
    following = rows[-1]["id"] if len(rows) == limit else None
    return json_response({"deliveries": deliveries, "next_before": following})


async def resend_delivery(request: Request) -> Response:
    """Send a delivery again now (dead ones mostly), with a fresh budget of attempts."""
    runtime, site_id, actor = await _admin(request)
    delivery_id = int_param(request.path_params["delivery_id"], "delivery_id")
    if not await redeliver(runtime.store, site_id, delivery_id, actor=actor, now=runtime.clock()):
        raise NotFound(f"no delivery {delivery_id}", field="delivery_id")
    request.app.state.deliverer.wake()
    return json_response({"id": delivery_id, "status": "pending"})


async def _admin(request: Request) -> tuple[Runtime, int, str]:
    """The admin key's runtime, site id and audit actor."""
    key = await authenticate(request, "admin")
    runtime: Runtime = request.app.state.runtime
    return runtime, site_of(runtime, key.site_id).id, f"key:{key.id}"
