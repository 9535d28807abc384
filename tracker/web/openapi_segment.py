"""``/v1/*`` in the OpenAPI document: Segment's HTTP Tracking API, each call also under its short path.

The limits are the ones ``segment.py`` enforces, imported rather than restated.
"""

from __future__ import annotations

from tracker.web.openapi_parts import Schema, errors, ok, operation, ref
from tracker.web.segment import MAX_BATCH_MESSAGES, MAX_ID
from tracker.web.validation import MAX_NAME

# Each call and the one-letter path analytics.js posts it to.
SEGMENT_CALLS = {
    "identify": "i",
    "track": "t",
    "page": "p",
    "screen": "s",
    "group": "g",
    "alias": "a",
}

_RESULT: Schema = {
    "type": "object",
    "required": ["success"],
    "properties": {
        "success": {"const": True},
        "accepted": {"type": "integer"},
        "duplicates": {"type": "integer", "description": "messages skipped because their messageId was seen"},
        "bots": {"type": "integer"},
        "rejected": {"type": "array", "items": ref("Rejection")},
        "notes": {"type": "array", "items": {"type": "object"}},
    },
}
_BATCH: Schema = {
    "type": "object",
    "required": ["batch"],
    "properties": {
        "batch": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH_MESSAGES, "items": {"type": "object"}},
        "context": {"type": "object"},
        "sentAt": {"type": "string", "format": "date-time"},
        "writeKey": {"type": "string"},
    },
}


def _message(kind: str) -> Schema:
    required = {"track": ["event"], "alias": ["previousId", "userId"], "group": ["groupId"]}.get(kind, [])
    return {
        "type": "object",
        "description": f"A Segment `{kind}` message; needs a userId or an anonymousId.",
        "required": required,
        "properties": {
            "type": {"const": kind},
            "userId": {"type": "string", "maxLength": MAX_ID},
            "anonymousId": {"type": "string", "maxLength": MAX_ID},
            "messageId": {
                "type": "string",
                "maxLength": MAX_ID,
                "description": "deliveries with a seen id are skipped",
            },
            "timestamp": {"type": "string", "format": "date-time"},
            "sentAt": {"type": "string", "format": "date-time"},
            "context": {"type": "object"},
            "integrations": {"type": "object"},
            "event": {
                "type": "string",
                "maxLength": MAX_NAME,
                "description": "a name meaning one of the beacon's kinds (download, File Downloaded, Form Submitted…)"
                " is stored as that kind; any other name is a custom event (README: Segment API)",
            },
            "name": {"type": "string"},
            "properties": {"type": "object"},
            "traits": {"type": "object"},
            "groupId": {
                "type": "string",
                "maxLength": MAX_ID,
                "description": "the customer account (company) the call belongs to; also read from context.groupId"
                " (README: Accounts)",
            },
            "previousId": {"type": "string"},
            "writeKey": {"type": "string"},
        },
    }


def _call(kind: str, schema: Schema, *, short: bool = False) -> Schema:
    return {
        "post": operation(
            f"segment_{kind}" + ("_short" if short else ""),
            f"Segment-compatible `{kind}` (HTTP Tracking API)" + (", analytics.js short path" if short else ""),
            "segment",
            ok(_RESULT) | errors(400, 401, 429),
            body=schema,
            security="writeKey",
        )
    }


def segment_paths() -> Schema:
    """Every call under its long and its short path (``/v1/track`` and ``/v1/t``)."""
    calls = [("batch", "b", _BATCH)] + [(kind, short, _message(kind)) for kind, short in SEGMENT_CALLS.items()]
    paths: Schema = {}
    for kind, short, schema in calls:
        paths[f"/v1/{kind}"] = _call(kind, schema)
        paths[f"/v1/{short}"] = _call(kind, schema, short=True)
    return paths
