"""Customer accounts' routes in the OpenAPI document (a sales key): the account list and one account."""

from __future__ import annotations

from tracker.domain.programme.accounts import ACCOUNT_STAGES
from tracker.services.exports import MAX_LIMIT
from tracker.web.openapi_parts import Schema, errors, limit_param, ok, operation, path_param, query, ref

_DATE_TIME: Schema = {"type": "string", "format": "date-time"}

ACCOUNT_SCHEMAS: dict[str, Schema] = {
    "Account": {
        "type": "object",
        "required": ["id", "key", "name", "score", "scores", "stages"],
        "properties": {
            "id": {"type": "integer"},
            "key": {
                "type": "string",
                "description": "what names the account: group:<groupId>, domain:<e-mail domain> or company:<name>",
            },
            "name": {"type": "string"},
            "owner": {"type": ["string", "null"], "description": "who every lead of the account is routed to"},
            "score": {"type": "number", "description": "the first account score of the programme (list order)"},
            "scores": {"type": "object", "additionalProperties": {"type": "number"}},
            "stages": {"type": "array", "items": {"enum": list(ACCOUNT_STAGES)}},
            "traits": {"type": "object", "description": "from Segment group calls (size, industry, plan…)"},
            "members": {
                "description": "how many people (lists); the people with their scores now (one account)",
                "oneOf": [{"type": "integer"}, {"type": "array", "items": ref("AccountMember")}],
            },
            "created_at": _DATE_TIME,
            "updated_at": _DATE_TIME,
            "stage_history": {"type": "array", "items": {"type": "object"}, "description": "stages entered"},
            "timeline": {
                "type": "array",
                "items": {"type": "object"},
                "description": "every member's events, newest first, each with its person_id",
            },
        },
    },
    "AccountMember": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": ["string", "null"]},
            "stage": {"type": "string"},
            "scores": {"type": "object", "additionalProperties": {"type": "number"}},
            "source": {"enum": ["group", "domain", "company"], "description": "what placed the person"},
            "joined_at": _DATE_TIME,
            "last_seen_at": _DATE_TIME,
        },
    },
}

_ACCOUNT_PAGE: Schema = {
    "type": "object",
    "properties": {
        "count": {"type": "integer"},
        "accounts": {"type": "array", "items": ref("Account")},
        "next_cursor": {"type": ["string", "null"], "description": "null on the last page"},
    },
}


def account_paths() -> Schema:
    return {
        "/api/accounts": {
            "get": operation(
                "list_accounts",
                "Customer accounts by their first account score, a page at a time",
                "sales",
                ok(_ACCOUNT_PAGE) | errors(400, 401, 403),
                parameters=[
                    query("stage", "only accounts in this stage", {"enum": list(ACCOUNT_STAGES)}),
                    query("min_score", "lowest score to include", {"type": "number"}),
                    query("q", "part of the name or key, any case"),
                    limit_param(MAX_LIMIT),
                    query("cursor", "next_cursor of the previous page"),
                ],
            )
        },
        "/api/accounts/{account_id}": {
            "get": operation(
                "get_account",
                "One account: scores, stages and their history, members with their scores, merged timeline",
                "sales",
                ok(ref("Account")) | errors(400, 401, 403, 404),
                parameters=[path_param("account_id", {"type": "integer"}, "the account's id")],
            )
        },
    }
