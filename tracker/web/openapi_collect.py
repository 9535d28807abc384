"""``/collect`` in the OpenAPI document: the beacon's envelope, its events, the answer and the refusals.

Each limit is the constant ``validation.py`` enforces, imported so the document cannot
drift from the validator.  The schemas say what a well-formed request is; the server also
takes null for a field left out, and refuses an event that fails its schema alone, listed
in ``rejected``, while the other events are kept.  One rule is told rather than checked:
an identify event's props carry an e-mail (the field names that mean one are many).
"""

from __future__ import annotations

from collections.abc import Iterable

from tracker.domain.decisions import KINDS
from tracker.domain.facts import EVENT_TYPES, FEEDBACK_TYPES
from tracker.domain.privacy import EXPLICIT_EVENTS
from tracker.services.abuse import INTERNAL
from tracker.web.collect import COOKIE, COOKIE_MAX_AGE
from tracker.web.openapi_parts import Schema, content, error, operation, ref
from tracker.web.validation import (
    MAX_BACKDATE,
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_ENGAGED_SECONDS,
    MAX_EVENTS,
    MAX_NAME,
    MAX_PROPS,
    MAX_SITE,
    MAX_STRING,
    MAX_TITLE,
    MAX_URL,
)

# sendBeacon posts a string, which browsers label text/plain: a simple request, never preflighted.
MEDIA = ("application/json", "text/plain")
# PostgreSQL cannot store NUL in text, so a string holding one is refused.
_NO_NUL = "^[^\\u0000]*$"


def _text(limit: int, description: str) -> Schema:
    return {"type": "string", "maxLength": limit, "pattern": _NO_NUL, "description": description}


def _properties(depth: int = 1) -> Schema:
    """An object of properties at nesting ``depth`` (an event's ``props`` is 1), within the caps."""
    return {
        "type": "object",
        "maxProperties": MAX_PROPS,
        "propertyNames": {"maxLength": MAX_NAME, "pattern": _NO_NUL},
        "additionalProperties": _value(depth),
    }


def _value(depth: int) -> Schema:
    """A property value: a scalar, or below ``MAX_DEPTH`` an object or a list one level deeper."""
    scalars: list[Schema] = [
        {"type": "string", "maxLength": MAX_STRING, "pattern": _NO_NUL},
        {"type": ["number", "boolean", "null"]},
    ]
    if depth >= MAX_DEPTH:
        return {"anyOf": scalars}
    containers = [_properties(depth + 1), {"type": "array", "maxItems": MAX_PROPS, "items": _value(depth + 1)}]
    return {"anyOf": scalars + containers}


def _when(kinds: Iterable[str], then: Schema) -> Schema:
    """A rule for the events of ``kinds`` only."""
    return {"if": {"required": ["type"], "properties": {"type": {"enum": sorted(kinds)}}}, "then": then}


def _props_need(name: str, schema: Schema) -> Schema:
    return {"required": ["props"], "properties": {"props": {"required": [name], "properties": {name: schema}}}}


_EVENT: Schema = {
    "type": "object",
    "required": ["type"],
    "description": "One event. `form`: props are the submitted fields (passwords, card numbers and CSRF "
    "tokens are dropped) and an e-mail among them identifies the visitor; `identify`: props carry the "
    "e-mail (a field whose name means e-mail), or the event is rejected.",
    "properties": {
        "type": {"enum": sorted(EVENT_TYPES)},
        "name": _text(MAX_NAME, "the custom event's name; a form's name (default `form`)"),
        "url": _text(MAX_URL, "the page, or the link for download and outbound"),
        "ref": _text(MAX_URL, "the referrer"),
        "title": _text(MAX_TITLE, "the page title, kept as props.title"),
        "t": {
            "type": "number",
            "description": "when it happened, in milliseconds since 1970 by the browser's clock: corrected by "
            f"sent_at, at most {MAX_BACKDATE / 86400:g} days back, never ahead; without sent_at the arrival "
            "time counts",
        },
        "props": _properties(),
    },
    "allOf": [
        _when(["custom"], {"required": ["name"], "properties": {"name": {"minLength": 1}}}),
        _when(FEEDBACK_TYPES | {"chat"}, _props_need("campaign", {"type": "string", "minLength": 1})),
        _when(["engaged"], _props_need("seconds", {"type": "number", "minimum": 0, "maximum": MAX_ENGAGED_SECONDS})),
    ],
}
_REQUEST: Schema = {
    "type": "object",
    "required": ["site", "events"],
    "properties": {
        "site": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_SITE,
            "description": "the site key (the script tag's data-site)",
        },
        "vid": {
            "type": "string",
            "description": f"the visitor token of the last answer (else the {COOKIE} cookie is read); a missing, "
            "tampered or foreign one starts a new visitor",
        },
        "sent_at": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "when the beacon sent, in milliseconds since 1970: the events' `t` are corrected by "
            "its difference with the server's clock",
        },
        "ctx": {
            "type": "object",
            "description": "other keys (the beacon sends `screen`) are ignored",
            "properties": {
                "webdriver": {"type": "boolean", "description": "navigator.webdriver: true is a bot"},
                "consent": {
                    "type": "boolean",
                    "description": "true once the visitor consented; false withdraws (see ConsentWithdrawal)",
                },
            },
        },
        "events": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_EVENTS,
            "items": ref("BeaconEvent"),
            "description": "an event failing its schema is listed in `rejected`, the others are kept",
        },
    },
}
_WITHDRAWAL: Schema = {
    "type": "object",
    "required": ["ctx"],
    "description": "ctx.consent false, whatever else the body holds (the beacon sends its site and no "
    f"events): nothing is kept and the {COOKIE} cookie is expired",
    "properties": {
        "ctx": {"type": "object", "required": ["consent"], "properties": {"consent": {"const": False}}},
    },
}
_DECISION: Schema = {
    "type": "object",
    "required": ["campaign", "kind", "trigger"],
    "description": "A campaign to show, its copy beside campaign, kind and trigger (rendered as text, never HTML)",
    "properties": {
        "campaign": {"type": "string"},
        "variant": {"type": "string", "description": "the experiment arm of this copy (original or a variant id)"},
        "kind": {"enum": list(KINDS)},
        "trigger": {
            "type": "object",
            "required": ["on"],
            "properties": {
                "on": {"enum": ["immediate", "exit", "delay", "scroll"]},
                "seconds": {"type": "number", "description": "delay"},
                "percent": {"type": "number", "description": "scroll"},
            },
        },
        "title": {"type": "string"},
        "text": {"type": "string"},
        "cta": {"type": "object", "properties": {"label": {"type": "string"}, "url": {"type": "string"}}},
        "form": {"type": "object", "description": "a popup's form: name, submit label and fields"},
        "slot": {"type": "string", "description": "content: the data-tracker-slot it fills"},
        "opener": {"type": "string", "description": "chat: the opening line"},
    },
}
_ANSWER: Schema = {
    "type": "object",
    "required": ["vid", "decisions", "rejected"],
    "properties": {
        "vid": {
            "type": ["string", "null"],
            "description": "the signed visitor token to send as the next vid; null when nothing was kept",
        },
        "decisions": {"type": "array", "items": ref("Decision"), "description": "campaigns to show now"},
        "rejected": {"type": "array", "items": ref("Rejection"), "description": "events refused, each alone"},
        "ignored": {
            "enum": ["consent", "gpc", "dnt", "bot", INTERNAL],
            "description": "present when nothing was kept, saying why: `consent` (withdrawn, or not given on "
            "a consent-required site), `gpc` or `dnt` (only passive events, under an honoured signal), `bot` "
            f"(which signal gave it away is not said) or `{INTERNAL}` (the site's own staff)",
        },
    },
}

COLLECT_SCHEMAS: dict[str, Schema] = {
    "BeaconRequest": _REQUEST,
    "BeaconEvent": _EVENT,
    "ConsentWithdrawal": _WITHDRAWAL,
    "BeaconAnswer": _ANSWER,
    "Decision": _DECISION,
}

_PASSIVE = ", ".join(sorted(EVENT_TYPES - EXPLICIT_EVENTS))
# What the browser adds on its own is told here rather than as parameters: a developer never
# sets these headers, and a fuzzer's malformed ones are refused by the HTTP server, not by us.
_BROWSER = (
    "No key: the site is named in the body. What the browser adds counts too. `Origin`: a page elsewhere "
    f"than the site's origins is refused (403). The `{COOKIE}` cookie: the visitor token when the body has "
    f"no valid vid. `Sec-GPC: 1`, then `DNT: 1`, if the site honours them: passive events ({_PASSIVE}) are "
    "withheld. `User-Agent` and the pace of page views: bots are answered but nothing is kept. Sent as JSON "
    "from another origin, the request is preflighted: `OPTIONS /collect` allows an origin any site allows "
    "(a 403 with no body otherwise)."
)


def collect_paths() -> Schema:
    answered = {
        "description": "what was kept, decided and refused; also the answer when nothing is kept (see `ignored`)",
        "headers": {
            "Set-Cookie": {
                "description": f"{COOKIE}: the visitor token (HttpOnly, SameSite=Lax, {COOKIE_MAX_AGE // 86400} days, "
                "Secure over https); expired when consent is withdrawn",
                "schema": {"type": "string"},
            },
            "Access-Control-Allow-Origin": {
                "description": "the request's Origin (when it sent one), with credentials allowed",
                "schema": {"type": "string"},
            },
        },
        "content": content(ref("BeaconAnswer")),
    }
    no_event = {
        "allOf": [
            ref("Error"),
            {"properties": {"rejected": {"type": "array", "items": ref("Rejection"), "description": "why not"}}},
        ]
    }
    refusals = {
        "400": error(
            400,
            "the body is not JSON, its envelope is wrong (`field` says where), or no event is valid "
            "(then `rejected` lists them)",
            no_event,
        ),
        "403": error(403, "the Origin is not one the site allows (nor this server's own)"),
        "404": error(404, "no site has this key"),
        "413": error(413, f"the body is over {MAX_BODY_BYTES} bytes"),
        "429": error(429, "too many requests from this address, or for this visitor"),
    }
    post = operation(
        "collect",
        "The beacon's events: validate, drop bots and internal traffic, identify, store, score, decide",
        "beacon",
        {"200": answered} | refusals,
        description=_BROWSER,
        body={"anyOf": [ref("BeaconRequest"), ref("ConsentWithdrawal")]},
        media=MEDIA,
        security=None,
    )
    return {"/collect": {"post": post}}
