"""The sales key's routes in the OpenAPI document: leads, visitors, routing and owners, exports."""

from __future__ import annotations

from tracker.domain.facts import STAGES
from tracker.domain.outcomes import KINDS, MAX_TEXT, MAX_VALUE
from tracker.services.exports import MAX_LIMIT
from tracker.web.openapi_parts import Schema, content, errors, limit_param, ok, operation, path_param, query, ref

SALES_SCHEMAS: dict[str, Schema] = {
    "Lead": {
        "type": "object",
        "required": ["id", "stage", "scores"],
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": ["string", "null"]},
            "user_id": {"type": ["string", "null"]},
            "stage": {"enum": list(STAGES)},
            "scores": {"type": "object", "additionalProperties": {"type": "number"}},
            "grade": {
                "type": ["string", "null"],
                "description": "the combined grade of the current scores (e.g. A1), null without a [grade] programme",
            },
            "profile": {"type": "object"},
            "created_at": {"type": "string", "format": "date-time"},
            "identified_at": {"type": ["string", "null"], "format": "date-time"},
            "last_seen_at": {"type": "string", "format": "date-time"},
            "outcome": {"oneOf": [ref("Outcome"), {"type": "null"}], "description": "the latest outcome (lists)"},
            "outcomes": {
                "type": "array",
                "items": ref("Outcome"),
                "description": "every outcome, oldest first (a lead's story)",
            },
            "account": {
                "type": ["object", "null"],
                "description": "the customer account (company) of the lead: id, key, name, owner (a lead's story)",
            },
            "routing": {
                "type": ["object", "null"],
                "description": "the queue and owner the lead is routed to (the lead's story adds route, "
                "assigned_at, history and `suggested`: where the table would route it now, if elsewhere)",
            },
        },
    },
    "Outcome": {
        "type": "object",
        "description": "what became of a lead, as sales recorded it; also an event of the timeline (type outcome)",
        "properties": {
            "kind": {"enum": list(KINDS)},
            "value": {"type": ["number", "null"], "description": "the deal's value (won only)"},
            "reason": {"type": ["string", "null"], "description": "why (lost only)"},
            "note": {"type": ["string", "null"]},
            "actor": {"type": "string", "description": "who recorded it: key:<id>, user:<id> or goal:<goal>"},
            "event_id": {"type": "integer"},
            "ts": {"type": "string", "format": "date-time"},
        },
    },
    "Owner": {
        "type": "object",
        "properties": {
            "owner": {"type": "string"},
            "available": {"type": "boolean", "description": "round robin skips an unavailable owner"},
            "queues": {"type": "array", "items": {"type": "string"}},
            "leads": {"type": "integer", "description": "leads routed to the owner now"},
        },
    },
}


def _lead_filters() -> list[Schema]:
    """What ``GET /api/leads`` and the exports filter on."""
    return [
        query("stage", "comma-separated stages (default known,mql,sql)"),
        query("score", "score to filter and sort by (default: the programme's sales score)"),
        query("min_score", "lowest score to include", {"type": "number"}),
        query("since", "last seen at or after (ISO 8601 or POSIX seconds)"),
        query("max_score", "highest score to include", {"type": "number"}),
        query("new_since", "entered their current stage at or after (ISO 8601 or POSIX seconds)"),
        query("queue", "only leads routed to this queue"),
        query("owner", "only leads routed to this owner"),
        query("q", "part of the e-mail or of the company, any case"),
    ]


_LEAD_PAGE: Schema = {
    "type": "object",
    "properties": {
        "score": {"type": "string"},
        "as_of": {
            "type": "string",
            "format": "date-time",
            "description": "the moment scores are decayed to, the same on every page",
        },
        "count": {"type": "integer"},
        "leads": {"type": "array", "items": ref("Lead")},
        "next_cursor": {"type": ["string", "null"], "description": "null on the last page"},
    },
}
_OUTCOME_BODY: Schema = {
    "type": "object",
    "required": ["kind"],
    "properties": {
        "kind": {"enum": list(KINDS)},
        "value": {"type": "number", "minimum": 0, "maximum": MAX_VALUE, "description": "required for won, else absent"},
        "reason": {"type": "string", "maxLength": MAX_TEXT, "description": "required for lost, else absent"},
        "note": {"type": "string", "maxLength": MAX_TEXT},
    },
}
_VISITOR: Schema = {
    "type": "object",
    "properties": {"person_id": {"type": "integer"}, "visits": {"type": "integer"}, "device": {"type": "string"}},
}
_REROUTED: Schema = {
    "type": "object",
    "properties": {
        "changed": {"type": "boolean", "description": "false: no route applies, or the lead is in that queue"},
        "id": {"type": "integer"},
        "routing": {"type": "object"},
    },
}


def _export(what: str, fmt: str) -> Schema:
    media = "text/csv" if fmt == "csv" else "application/x-ndjson"
    rows = "one lead per row" if what == "leads" else "every event of each lead, oldest first"
    return {
        "get": operation(
            f"export_{what}_{fmt}",
            f"Download {what} as {fmt.upper()} ({rows}; streamed, audited)",
            "sales",
            {"200": {"description": "the file", "content": {media: {"schema": {"type": "string"}}}}}
            | errors(400, 401, 403),
            parameters=_lead_filters(),
        )
    }


def sales_paths() -> Schema:
    lead_id = [path_param("person_id", {"type": "integer"}, "a merged-away id resolves to the survivor")]
    return {
        "/api/leads": {
            "get": operation(
                "list_leads",
                "Leads sorted by score (decay applied), a page at a time",
                "sales",
                ok(_LEAD_PAGE) | errors(400, 401, 403),
                parameters=[
                    *_lead_filters(),
                    limit_param(MAX_LIMIT),
                    query("cursor", "next_cursor of the previous page"),
                ],
            )
        },
        "/api/leads/{person_id}": {
            "get": operation(
                "get_lead",
                "One lead: profile, scores, stages, ledger, decisions, devices and merged timeline",
                "sales",
                ok(ref("Lead")) | errors(400, 401, 403, 404),
                parameters=lead_id,
            )
        },
        "/api/visitors/{token}": {
            "get": operation(
                "get_visitor",
                "Which person a signed visitor token belongs to",
                "sales",
                ok(_VISITOR) | errors(401, 403, 404),
                parameters=[path_param("token", {"type": "string"}, "the tk_vid token")],
            )
        },
        "/api/leads/{person_id}/reroute": {
            "post": operation(
                "reroute_lead",
                "Re-evaluate the routing table for a lead; a new assignment if it names another queue",
                "sales",
                ok(_REROUTED) | errors(400, 401, 403, 404),
                parameters=lead_id,
            )
        },
        "/api/leads/{person_id}/outcome": {
            "post": operation(
                "record_outcome",
                "Record what became of a lead: stored in its timeline, exported, announced (person.outcome)",
                "sales",
                {"201": {"description": "recorded", "content": content(ref("Outcome"))}} | errors(400, 401, 403, 404),
                parameters=lead_id,
                body=_OUTCOME_BODY,
            )
        },
        "/api/owners": {
            "get": operation(
                "list_owners",
                "Owners named by the routes",
                "sales",
                ok({"type": "object", "properties": {"owners": {"type": "array", "items": ref("Owner")}}})
                | errors(401, 403),
            )
        },
        "/api/owners/{owner}": {
            "put": operation(
                "set_owner",
                "Mark an owner available or not (out of office)",
                "sales",
                ok(ref("Owner")) | errors(400, 401, 403, 404),
                parameters=[path_param("owner", {"type": "string"}, "an owner named in the programme's routes")],
                body={"type": "object", "required": ["available"], "properties": {"available": {"type": "boolean"}}},
            )
        },
        "/api/exports/leads.csv": _export("leads", "csv"),
        "/api/exports/leads.ndjson": _export("leads", "ndjson"),
        "/api/exports/timeline.csv": _export("timeline", "csv"),
        "/api/exports/timeline.ndjson": _export("timeline", "ndjson"),
    }
