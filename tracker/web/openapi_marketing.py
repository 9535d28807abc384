"""The marketing key's routes in the OpenAPI document: internal-traffic links, ignored traffic and
e-mail links."""

from __future__ import annotations

from tracker.domain.email_links import LINK_SECONDS, MAX_CAMPAIGN, MAX_TARGET
from tracker.services.abuse import (
    BY_HEADLESS,
    BY_USER_AGENT,
    BY_WEBDRIVER,
    FLAGGED,
    INTERNAL,
    INTERNAL_LINK_SECONDS,
    TOO_FAST,
)
from tracker.web.email import MAX_RECIPIENTS, MAX_URLS
from tracker.web.openapi_parts import Schema, content, errors, ok, operation, query

# Every reason ``services.abuse`` counts ignored traffic under.
_REASONS = (BY_USER_AGENT, BY_HEADLESS, BY_WEBDRIVER, TOO_FAST, FLAGGED, INTERNAL)

_INTERNAL_LINK: Schema = {
    "type": "object",
    "properties": {
        "site": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "expires_at": {"type": "string", "format": "date-time"},
    },
}
_IGNORED: Schema = {
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
                    "reason": {"enum": list(_REASONS)},
                    "requests": {"type": "integer"},
                    "events": {"type": "integer"},
                },
            },
        },
    },
}

_EMAIL_LINKS_REQUEST: Schema = {
    "type": "object",
    "required": ["campaign", "urls", "recipients"],
    "properties": {
        "campaign": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_CAMPAIGN,
            "description": 'the e-mail campaign, as rules name it: when = { type = "email_click", name = ... }',
        },
        "urls": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_URLS,
            "items": {"type": "string", "format": "uri", "maxLength": MAX_TARGET},
            "description": "absolute http(s) URLs the message links to; each recipient gets a link per URL",
        },
        "recipients": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_RECIPIENTS,
            "items": {"type": "string", "format": "email"},
            "description": "e-mail addresses of people the site knows; others are refused by row",
        },
    },
}
_EMAIL_LINKS: Schema = {
    "type": "object",
    "properties": {
        "site": {"type": "string"},
        "campaign": {"type": "string"},
        "urls": {"type": "array", "items": {"type": "string"}},
        "expires_at": {"type": "string", "format": "date-time"},
        "links": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "email": {"type": "string"},
                    "person_id": {"type": "integer"},
                    "clicks": {"type": "array", "items": {"type": "string", "format": "uri"}},
                    "open": {"type": "string", "format": "uri"},
                },
            },
        },
        "refused": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "field": {"type": "string"},
                    "email": {},
                    "reason": {"type": "string"},
                },
            },
        },
    },
}


def marketing_paths() -> Schema:
    return {
        "/api/internal-links": {
            "post": operation(
                "create_internal_link",
                "A link marking the browser that opens it as the site's own staff (not tracked), "
                f"for {INTERNAL_LINK_SECONDS // 86400} days",
                "marketing",
                {
                    "201": {
                        "description": "created: open `url` in the browser to exclude",
                        "content": content(_INTERNAL_LINK),
                    }
                }
                | errors(401, 403),
            )
        },
        "/api/ignored-traffic": {
            "get": operation(
                "ignored_traffic",
                "Bot and internal traffic, counted but never stored: requests and events per day and reason",
                "marketing",
                ok(_IGNORED) | errors(400, 401, 403),
                parameters=[query("days", "1 to 400 (default 30), today included", {"type": "integer", "minimum": 1})],
            )
        },
        "/api/email-links": {
            "post": operation(
                "create_email_links",
                "Signed click links and open pixels for the known recipients of one message, "
                f"valid {LINK_SECONDS // 86400} days",
                "marketing",
                {
                    "201": {
                        "description": "created, with each refused recipient and why",
                        "content": content(_EMAIL_LINKS),
                    }
                }
                | errors(400, 401, 403, 413),
                body=_EMAIL_LINKS_REQUEST,
            )
        },
    }
