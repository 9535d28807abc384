"""``GET /api/openapi.json``: the OpenAPI 3.1 description of every /api and /v1 route.

Written out explicitly rather than generated: the document is a contract with the
customer's developers, and tests/test_openapi.py checks it against the route list
both ways, so neither can drift from the other.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .api import json_response

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
            "event": {"type": "string", "maxLength": 100},
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


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/api/leads": {
            "get": {
                "operationId": "list_leads",
                "summary": "Leads sorted by score (decay applied)",
                "tags": ["sales"],
                "security": [{"apiKey": []}],
                "parameters": [
                    _query("stage", "comma-separated stages (default known,mql,sql)", {"type": "string"}),
                    _query("score", "score to filter and sort by (default: the programme's sales score)"),
                    _query("min_score", "lowest score to include", {"type": "number"}),
                    _query("since", "last seen at or after (ISO 8601 or POSIX seconds)"),
                    _query("limit", "1 to 500 (default 50)", {"type": "integer", "minimum": 1, "maximum": 500}),
                ],
                "responses": {
                    **_ok(
                        {
                            "type": "object",
                            "properties": {
                                "score": {"type": "string"},
                                "count": {"type": "integer"},
                                "leads": {"type": "array", "items": {"$ref": "#/components/schemas/Lead"}},
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
            "schemas": {"Error": _ERROR, "Rejection": _REJECTION, "Lead": _LEAD},
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
