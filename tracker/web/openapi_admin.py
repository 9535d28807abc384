"""The admin key's routes in the OpenAPI document: a person's export and erasure, webhooks."""

from __future__ import annotations

from tracker.services.outbox import EVENTS
from tracker.services.webhooks import STATUSES
from tracker.web.openapi_parts import Schema, content, errors, limit_param, ok, operation, path_param, query, ref
from tracker.web.webhooks import MAX_LIMIT

_EXPORT: Schema = {
    "allOf": [
        ref("Lead"),
        {
            "type": "object",
            "properties": {
                "exported_at": {"type": "string", "format": "date-time"},
                "merged_ids": {"type": "array", "items": {"type": "integer"}},
                "data": {
                    "type": "object",
                    "description": "every row held about the person, by table (times in POSIX seconds)",
                    "additionalProperties": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    ]
}
_ERASURE: Schema = {
    "type": "object",
    "properties": {
        "erased": {"type": "integer", "description": "the person id (kept in the audit log, never the e-mail)"},
        "merged_ids": {"type": "array", "items": {"type": "integer"}},
        "deleted": {
            "type": "object",
            "description": "rows deleted per table",
            "additionalProperties": {"type": "integer"},
        },
    },
}
_WEBHOOK: Schema = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string", "format": "uri"},
        "events": {"type": "array", "items": {"enum": list(EVENTS)}},
        "created_at": {"type": "string", "format": "date-time"},
        "secret": {"type": "string", "description": "signing secret, only in the answer to its creation"},
    },
}
_DELIVERY: Schema = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "description": "also the Tracker-Delivery header"},
        "webhook_id": {"type": "integer"},
        "url": {"type": "string"},
        "person_id": {"type": "integer", "description": "0 for an account's announcement (data.account_id)"},
        "event": {"enum": list(EVENTS)},
        "data": {"type": "object"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "status": {"enum": list(STATUSES)},
        "attempts": {"type": "integer"},
        "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
        "last_status": {"type": ["integer", "null"]},
        "last_error": {"type": ["string", "null"]},
        "delivered_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
_DELIVERIES: Schema = {
    "type": "object",
    "properties": {
        "deliveries": {"type": "array", "items": _DELIVERY},
        "next_before": {"type": ["integer", "null"], "description": "pass as before= for older ones"},
    },
}
_SUBSCRIPTION: Schema = {
    "type": "object",
    "required": ["url"],
    "properties": {
        "url": {"type": "string", "format": "uri"},
        "events": {"type": "array", "items": {"enum": list(EVENTS)}, "description": "default: every event"},
    },
}


def privacy_paths() -> Schema:
    """Right of access and erasure (admin key; audited): a person by id, or by e-mail or user id."""
    by_id = [path_param("person_id", {"type": "integer"}, "a merged-away id names its survivor")]
    by_identity = [
        query("email", "the person's e-mail (exactly one of email and user_id)"),
        query("user_id", "the person's backend user id (exactly one of email and user_id)"),
    ]

    def person(action: str, by: str, parameters: list[Schema]) -> Schema:
        export = action == "export"
        summary = "Everything held about one person" if export else "Erase a person and every row pointing at them"
        return operation(
            f"{action}_person_by_{by}",
            f"{summary} (admin key; audited)",
            "privacy",
            ok(_EXPORT if export else _ERASURE) | errors(400, 401, 403, 404),
            parameters=parameters,
        )

    return {
        "/api/people": {
            "get": person("export", "identity", by_identity),
            "delete": person("erase", "identity", by_identity),
        },
        "/api/people/{person_id}/export": {"get": person("export", "id", by_id)},
        "/api/people/{person_id}": {"delete": person("erase", "id", by_id)},
    }


def webhook_paths() -> Schema:
    """Subscriptions and their deliveries (admin key)."""

    def by_id(name: str) -> list[Schema]:
        return [path_param(name, {"type": "integer"}, name.replace("_", " "))]

    created = {"201": {"description": "created", "content": content(_WEBHOOK)}}
    return {
        "/api/webhooks": {
            "get": operation(
                "list_webhooks",
                "Webhook subscriptions (admin key)",
                "webhooks",
                ok({"type": "object", "properties": {"webhooks": {"type": "array", "items": _WEBHOOK}}})
                | errors(401, 403),
            ),
            "post": operation(
                "create_webhook",
                "Subscribe a URL to events; the answer holds the signing secret, shown once (admin key)",
                "webhooks",
                created | errors(400, 401, 403),
                body=_SUBSCRIPTION,
            ),
        },
        "/api/webhooks/{webhook_id}": {
            "delete": operation(
                "delete_webhook",
                "Remove a subscription and its deliveries (admin key)",
                "webhooks",
                ok({"type": "object", "properties": {"deleted": {"type": "integer"}}}) | errors(400, 401, 403, 404),
                parameters=by_id("webhook_id"),
            )
        },
        "/api/webhooks/deliveries": {
            "get": operation(
                "list_deliveries",
                "Deliveries, newest first: pending, delivered or dead (admin key)",
                "webhooks",
                ok(_DELIVERIES) | errors(400, 401, 403),
                parameters=[
                    query("status", ", ".join(STATUSES), {"enum": list(STATUSES)}),
                    limit_param(MAX_LIMIT),
                    query("before", "only deliveries with a smaller id", {"type": "integer"}),
                ],
            )
        },
        "/api/webhooks/deliveries/{delivery_id}/resend": {
            "post": operation(
                "resend_delivery",
                "Send a delivery again now, with a fresh budget of attempts (admin key)",
                "webhooks",
                ok({"type": "object", "properties": {"id": {"type": "integer"}, "status": {"const": "pending"}}})
                | errors(400, 401, 403, 404),
                parameters=by_id("delivery_id"),
            )
        },
    }
