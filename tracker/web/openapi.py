"""``GET /api/openapi.json``: the OpenAPI 3.1 description of every /api and /v1 route.

Written out explicitly rather than generated: the document is a contract with the
customer's developers, and tests/test_openapi.py checks it against the route list
both ways, so neither can drift from the other.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tracker.services.outbox import EVENTS
from tracker.web.responses import json_response

SEGMENT_CALLS = {
    "identify": "i",
    "track": "t",
    "page": "p",
    "screen": "s",
    "group": "g",
    "alias": "a",
}

_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "machine-readable code, e.g. bad_request"},
        "message": {"type": "string", "description": "what is wrong, for a person"},
        "field": {"type": "string", "description": "the field, parameter or header at fault"},
    },
}
_REJECTION = {
    "type": "object",
    "required": ["index", "field", "message"],
    "properties": {"index": {"type": "integer"}, "field": {"type": "string"}, "message": {"type": "string"}},
}
_LEAD = {
    "type": "object",
    "required": ["id", "stage", "scores"],
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": ["string", "null"]},
        "user_id": {"type": ["string", "null"]},
        "stage": {"enum": ["anonymous", "known", "mql", "sql"]},
        "scores": {"type": "object", "additionalProperties": {"type": "number"}},
        "profile": {"type": "object"},
        "created_at": {"type": "string", "format": "date-time"},
        "identified_at": {"type": ["string", "null"], "format": "date-time"},
        "last_seen_at": {"type": "string", "format": "date-time"},
        "routing": {
            "type": ["object", "null"],
            "description": "the queue and owner the lead is routed to (the lead's story adds route, assigned_at, "
            "history and `suggested`: where the table would route it now, if elsewhere)",
        },
    },
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


def _ok(schema: dict[str, Any], description: str = "ok") -> dict[str, Any]:
    return {"200": {"description": description, "content": {"application/json": {"schema": schema}}}}


def _segment_message(kind: str) -> dict[str, Any]:
    required = {"track": ["event"], "alias": ["previousId", "userId"], "group": ["groupId"]}.get(kind, [])
    return {
        "type": "object",
        "description": f"A Segment `{kind}` message; needs a userId or an anonymousId.",
        "required": required,
        "properties": {
            "type": {"const": kind},
            "userId": {"type": "string", "maxLength": 200},
            "anonymousId": {"type": "string", "maxLength": 200},
            "messageId": {"type": "string", "maxLength": 200, "description": "deliveries with a seen id are skipped"},
            "timestamp": {"type": "string", "format": "date-time"},
            "sentAt": {"type": "string", "format": "date-time"},
            "context": {"type": "object"},
            "integrations": {"type": "object"},
            "event": {
                "type": "string",
                "maxLength": 100,
                "description": "a name meaning one of the beacon's kinds (download, File Downloaded, Form Submitted…)"
                " is stored as that kind; any other name is a custom event (README: Segment API)",
            },
            "name": {"type": "string"},
            "properties": {"type": "object"},
            "traits": {"type": "object"},
            "groupId": {"type": "string"},
            "previousId": {"type": "string"},
            "writeKey": {"type": "string"},
        },
    }


_SEGMENT_RESULT = {
    "type": "object",
    "required": ["success"],
    "properties": {
        "success": {"const": True},
        "accepted": {"type": "integer"},
        "duplicates": {"type": "integer", "description": "messages skipped because their messageId was seen"},
        "bots": {"type": "integer"},
        "rejected": {"type": "array", "items": {"$ref": "#/components/schemas/Rejection"}},
        "notes": {"type": "array", "items": {"type": "object"}},
    },
}


def _segment_operation(kind: str, schema: dict[str, Any], *, short: bool = False) -> dict[str, Any]:
    return {
        "post": {
            "operationId": f"segment_{kind}" + ("_short" if short else ""),
            "summary": f"Segment-compatible `{kind}` (HTTP Tracking API)"
            + (", analytics.js short path" if short else ""),
            "tags": ["segment"],
            "security": [{"writeKey": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
            "responses": {**_ok(_SEGMENT_RESULT), **_errors(400, 401, 429)},
        }
    }


_EXPORT = {
    "allOf": [
        {"$ref": "#/components/schemas/Lead"},
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
_ERASURE = {
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


def _privacy_paths() -> dict[str, Any]:
    """Right of access and erasure (admin key; audited): a person by id, or by e-mail or user id."""
    by_id = [_path("person_id", {"type": "integer"}, "a merged-away id names its survivor")]
    by_identity = [
        _query("email", "the person's e-mail (exactly one of email and user_id)"),
        _query("user_id", "the person's backend user id (exactly one of email and user_id)"),
    ]

    def operation(action: str, by: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
        export = action == "export"
        summary = "Everything held about one person" if export else "Erase a person and every row pointing at them"
        return {
            "operationId": f"{action}_person_by_{by}",
            "summary": f"{summary} (admin key; audited)",
            "tags": ["privacy"],
            "security": [{"apiKey": []}],
            "parameters": parameters,
            "responses": {**_ok(_EXPORT if export else _ERASURE), **_errors(400, 401, 403, 404)},
        }

    return {
        "/api/people": {
            "get": operation("export", "identity", by_identity),
            "delete": operation("erase", "identity", by_identity),
        },
        "/api/people/{person_id}/export": {"get": operation("export", "id", by_id)},
        "/api/people/{person_id}": {"delete": operation("erase", "id", by_id)},
    }


def _lead_filters() -> list[dict[str, Any]]:
    return [
        _query("stage", "comma-separated stages (default known,mql,sql)"),
        _query("score", "score to filter and sort by (default: the programme's sales score)"),
        _query("min_score", "lowest score to include", {"type": "number"}),
        _query("since", "last seen at or after (ISO 8601 or POSIX seconds)"),
        _query("queue", "only leads routed to this queue"),
        _query("owner", "only leads routed to this owner"),
    ]


_OWNER = {
    "type": "object",
    "properties": {
        "owner": {"type": "string"},
        "available": {"type": "boolean", "description": "round robin skips an unavailable owner"},
        "queues": {"type": "array", "items": {"type": "string"}},
        "leads": {"type": "integer", "description": "leads routed to the owner now"},
    },
}
_WEBHOOK = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string", "format": "uri"},
        "events": {"type": "array", "items": {"enum": list(EVENTS)}},
        "created_at": {"type": "string", "format": "date-time"},
        "secret": {"type": "string", "description": "signing secret, only in the answer to its creation"},
    },
}
_DELIVERY = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "description": "also the Tracker-Delivery header"},
        "webhook_id": {"type": "integer"},
        "url": {"type": "string"},
        "person_id": {"type": "integer"},
        "event": {"enum": list(EVENTS)},
        "data": {"type": "object"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "status": {"enum": ["pending", "delivered", "dead"]},
        "attempts": {"type": "integer"},
        "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
        "last_status": {"type": ["integer", "null"]},
        "last_error": {"type": ["string", "null"]},
        "delivered_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


def _operation(
    operation_id: str,
    summary: str,
    tag: str,
    responses: dict[str, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "security": [{"apiKey": []}],
        "parameters": parameters or [],
        "responses": responses,
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def _handoff_paths() -> dict[str, Any]:
    """Routing, owners, webhooks (admin key) and exports: the sales handoff."""
    lead_id = [_path("person_id", {"type": "integer"}, "a merged-away id resolves to the survivor")]
    ids = {name: [_path(name, {"type": "integer"}, name.replace("_", " "))] for name in ("webhook_id", "delivery_id")}
    routing = {
        "type": "object",
        "properties": {
            "changed": {"type": "boolean", "description": "false: no route applies, or the lead is in that queue"},
            "id": {"type": "integer"},
            "routing": {"type": "object"},
        },
    }
    webhooks = {"type": "object", "properties": {"webhooks": {"type": "array", "items": _WEBHOOK}}}
    deliveries = {
        "type": "object",
        "properties": {
            "deliveries": {"type": "array", "items": _DELIVERY},
            "next_before": {"type": ["integer", "null"], "description": "pass as before= for older ones"},
        },
    }
    subscription = {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "events": {"type": "array", "items": {"enum": list(EVENTS)}, "description": "default: every event"},
        },
    }
    created = {"201": {"description": "created", "content": {"application/json": {"schema": _WEBHOOK}}}}

    def export(what: str, fmt: str) -> dict[str, Any]:
        media = "text/csv" if fmt == "csv" else "application/x-ndjson"
        rows = "one lead per row" if what == "leads" else "every event of each lead, oldest first"
        return {
            "get": _operation(
                f"export_{what}_{fmt}",
                f"Download {what} as {fmt.upper()} ({rows}; streamed, audited)",
                "sales",
                {"200": {"description": "the file", "content": {media: {"schema": {"type": "string"}}}}}
                | _errors(400, 401, 403),
                parameters=_lead_filters(),
            )
        }

    return {
        "/api/leads/{person_id}/reroute": {
            "post": _operation(
                "reroute_lead",
                "Re-evaluate the routing table for a lead; a new assignment if it names another queue",
                "sales",
                _ok(routing) | _errors(400, 401, 403, 404),
                parameters=lead_id,
            )
        },
        "/api/owners": {
            "get": _operation(
                "list_owners",
                "Owners named by the routes",
                "sales",
                _ok({"type": "object", "properties": {"owners": {"type": "array", "items": _OWNER}}})
                | _errors(401, 403),
            )
        },
        "/api/owners/{owner}": {
            "put": _operation(
                "set_owner",
                "Mark an owner available or not (out of office)",
                "sales",
                _ok({"$ref": "#/components/schemas/Owner"}) | _errors(400, 401, 403, 404),
                parameters=[_path("owner", {"type": "string"}, "an owner named in the programme's routes")],
                body={"type": "object", "required": ["available"], "properties": {"available": {"type": "boolean"}}},
            )
        },
        "/api/webhooks": {
            "get": _operation(
                "list_webhooks", "Webhook subscriptions (admin key)", "webhooks", _ok(webhooks) | _errors(401, 403)
            ),
            "post": _operation(
                "create_webhook",
                "Subscribe a URL to events; the answer holds the signing secret, shown once (admin key)",
                "webhooks",
                created | _errors(400, 401, 403),
                body=subscription,
            ),
        },
        "/api/webhooks/{webhook_id}": {
            "delete": _operation(
                "delete_webhook",
                "Remove a subscription and its deliveries (admin key)",
                "webhooks",
                _ok({"type": "object", "properties": {"deleted": {"type": "integer"}}}) | _errors(400, 401, 403, 404),
                parameters=ids["webhook_id"],
            )
        },
        "/api/webhooks/deliveries": {
            "get": _operation(
                "list_deliveries",
                "Deliveries, newest first: pending, delivered or dead (admin key)",
                "webhooks",
                _ok(deliveries) | _errors(400, 401, 403),
                parameters=[
                    _query("status", "pending, delivered or dead", {"enum": ["pending", "delivered", "dead"]}),
                    _query("limit", "1 to 500 (default 50)", {"type": "integer", "minimum": 1, "maximum": 500}),
                    _query("before", "only deliveries with a smaller id", {"type": "integer"}),
                ],
            )
        },
        "/api/webhooks/deliveries/{delivery_id}/resend": {
            "post": _operation(
                "resend_delivery",
                "Send a delivery again now, with a fresh budget of attempts (admin key)",
                "webhooks",
                _ok({"type": "object", "properties": {"id": {"type": "integer"}, "status": {"const": "pending"}}})
                | _errors(400, 401, 403, 404),
                parameters=ids["delivery_id"],
            )
        },
        "/api/exports/leads.csv": export("leads", "csv"),
        "/api/exports/leads.ndjson": export("leads", "ndjson"),
        "/api/exports/timeline.csv": export("timeline", "csv"),
        "/api/exports/timeline.ndjson": export("timeline", "ndjson"),
    }


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/api/leads": {
            "get": {
                "operationId": "list_leads",
                "summary": "Leads sorted by score (decay applied), a page at a time",
                "tags": ["sales"],
                "security": [{"apiKey": []}],
                "parameters": [
                    *_lead_filters(),
                    _query("limit", "1 to 500 (default 50)", {"type": "integer", "minimum": 1, "maximum": 500}),
                    _query("cursor", "next_cursor of the previous page"),
                ],
                "responses": {
                    **_ok(
                        {
                            "type": "object",
                            "properties": {
                                "score": {"type": "string"},
                                "as_of": {
                                    "type": "string",
                                    "format": "date-time",
                                    "description": "the moment scores are decayed to, the same on every page",
                                },
                                "count": {"type": "integer"},
                                "leads": {"type": "array", "items": {"$ref": "#/components/schemas/Lead"}},
                                "next_cursor": {"type": ["string", "null"], "description": "null on the last page"},
                            },
                        }
                    ),
                    **_errors(400, 401, 403),
                },
            }
        },
        "/api/leads/{person_id}": {
            "get": {
                "operationId": "get_lead",
                "summary": "One lead: profile, scores, stages, ledger, decisions, devices and merged timeline",
                "tags": ["sales"],
                "security": [{"apiKey": []}],
                "parameters": [_path("person_id", {"type": "integer"}, "a merged-away id resolves to the survivor")],
                "responses": {**_ok({"$ref": "#/components/schemas/Lead"}), **_errors(400, 401, 403, 404)},
            }
        },
        "/api/visitors/{token}": {
            "get": {
                "operationId": "get_visitor",
                "summary": "Which person a signed visitor token belongs to",
                "tags": ["sales"],
                "security": [{"apiKey": []}],
                "parameters": [_path("token", {"type": "string"}, "the tk_vid token")],
                "responses": {
                    **_ok(
                        {
                            "type": "object",
                            "properties": {
                                "person_id": {"type": "integer"},
                                "visits": {"type": "integer"},
                                "device": {"type": "string"},
                            },
                        }
                    ),
                    **_errors(401, 403, 404),
                },
            }
        },
        "/api/internal-links": {
            "post": {
                "operationId": "create_internal_link",
                "summary": "A link marking the browser that opens it as the site's own staff (not tracked), for 7 days",
                "tags": ["marketing"],
                "security": [{"apiKey": []}],
                "responses": {
                    "201": {
                        "description": "created: open `url` in the browser to exclude",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "site": {"type": "string"},
                                        "url": {"type": "string", "format": "uri"},
                                        "expires_at": {"type": "string", "format": "date-time"},
                                    },
                                }
                            }
                        },
                    },
                    **_errors(401, 403),
                },
            }
        },
        "/api/ignored-traffic": {
            "get": {
                "operationId": "ignored_traffic",
                "summary": "Bot and internal traffic, counted but never stored: requests and events per day and reason",
                "tags": ["marketing"],
                "security": [{"apiKey": []}],
                "parameters": [
                    _query("days", "1 to 400 (default 30), today included", {"type": "integer", "minimum": 1}),
                ],
                "responses": {
                    **_ok(
                        {
                            "type": "object",
                            "properties": {
                                "site": {"type": "string"},
                                "since": {"type": "string", "format": "date"},
                                "counts": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "day": {"type": "string", "format": "date"},
                                            "reason": {
                                                "type": "string",
                                                "description": "user-agent, headless, webdriver, too-fast, flagged "
                                                "or internal",
                                            },
                                            "requests": {"type": "integer"},
                                            "events": {"type": "integer"},
                                        },
                                    },
                                },
                            },
                        }
                    ),
                    **_errors(400, 401, 403),
                },
            }
        },
        **_privacy_paths(),
        **_handoff_paths(),
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "tags": ["meta"],
                "responses": _ok({"type": "object"}),
            }
        },
    }
    batch = {
        "type": "object",
        "required": ["batch"],
        "properties": {
            "batch": {"type": "array", "minItems": 1, "maxItems": 2500, "items": {"type": "object"}},
            "context": {"type": "object"},
            "sentAt": {"type": "string", "format": "date-time"},
            "writeKey": {"type": "string"},
        },
    }
    for kind, short, schema in [("batch", "b", batch)] + [
        (k, s, _segment_message(k)) for k, s in SEGMENT_CALLS.items()
    ]:
        paths[f"/v1/{kind}"] = _segment_operation(kind, schema)
        paths[f"/v1/{short}"] = _segment_operation(kind, schema, short=True)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tracker",
            "version": "1",
            "description": "Anonymous-visitor tracking, lead scoring and on-site personalization. Every error is "
            "JSON with its HTTP status and names the field at fault.",
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": _ERROR, "Rejection": _REJECTION, "Lead": _LEAD, "Owner": _OWNER},
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "`tracker keys create --role sales`"},
                "writeKey": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "an ingest key as the Basic user, empty password (`--role ingest`)",
                },
            },
        },
    }


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _path(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


async def openapi(request: Request) -> Response:
    return json_response(document())
