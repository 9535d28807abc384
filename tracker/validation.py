"""Validation of beacon payloads: whole-request errors raise, per-event errors are listed.

A request with a bad envelope (not JSON, no site, no events list) is refused with a
4xx naming the field.  Inside a good envelope each event stands alone: valid events
are kept and each rejected one is reported with its index, field and reason, so one
bad custom event never costs the page view beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from .errors import BadRequest
from .identity import IdentityError, email_in, normalise_email, without_secrets
from .model import EVENT_TYPES, FEEDBACK_TYPES

MAX_BODY_BYTES = 64 * 1024
MAX_EVENTS = 50
MAX_URL = 2048
MAX_NAME = 100
MAX_STRING = 1000
MAX_PROPS = 50
MAX_DEPTH = 3
# Clock skew correction never moves an event more than this far into the past.
MAX_BACKDATE = 7 * 86400.0


@dataclass(frozen=True, slots=True)
class Incoming:
    """A validated event not yet stored.  ``email`` / ``user_id`` are set when the event identifies."""

    type: str
    ts: float
    name: str = ""
    url: str = ""
    referrer: str = ""
    props: Mapping[str, Any] = field(default_factory=dict)
    email: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    field: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class Payload:
    site: str
    token: str | None
    webdriver: bool
    events: list[Incoming]
    rejected: list[Rejection]
    # The beacon said when it sent (``sent_at``), so event times are the browser's, not arrival times.
    client_times: bool = False


class Invalid(Exception):
    """One event (or Segment message) is unusable: ``field`` says where, ``message`` why."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}", field="body") from None


def parse_payload(data: Any, now: float) -> Payload:
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object", field="body")
    site = data.get("site")
    if not isinstance(site, str) or not site or len(site) > 64:
        raise BadRequest("site is required: the site key from data-site", field="site")
    token = data.get("vid")
    if token is not None and not isinstance(token, str):
        raise BadRequest("vid must be a string", field="vid")
    ctx = data.get("ctx", {})
    if not isinstance(ctx, dict):
        raise BadRequest("ctx must be an object", field="ctx")
    events = data.get("events")
    if not isinstance(events, list) or not events:
        raise BadRequest("events must be a non-empty list", field="events")
    if len(events) > MAX_EVENTS:
        raise BadRequest(f"at most {MAX_EVENTS} events per request, got {len(events)}", field="events")
    skew = _skew(data.get("sent_at"), now)
    accepted: list[Incoming] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(events):
        try:
            accepted.append(_event(raw, f"events[{index}]", now, skew))
        except Invalid as exc:
            rejected.append(Rejection(index, exc.field, exc.message))
    return Payload(site, token or None, ctx.get("webdriver") is True, accepted, rejected, skew is not None)


def _skew(sent_at: Any, now: float) -> float | None:
    """Seconds to subtract from client times (``receivedAt − sentAt``), None if unknown."""
    if isinstance(sent_at, (int, float)) and not isinstance(sent_at, bool) and sent_at > 0:
        return sent_at / 1000.0 - now
    return None


def _event(raw: Any, where: str, now: float, skew: float | None) -> Incoming:
    if not isinstance(raw, dict):
        raise Invalid(where, "an event must be an object")
    kind = raw.get("type")
    if kind not in EVENT_TYPES:
        raise Invalid(f"{where}.type", f"unknown event type {kind!r}; expected one of {', '.join(sorted(EVENT_TYPES))}")
    name = _string(raw, "name", where, MAX_NAME)
    if kind == "custom" and not name:
        raise Invalid(f"{where}.name", "a custom event needs a name")
    if kind == "form" and not name:
        name = "form"
    url = _string(raw, "url", where, MAX_URL)
    referrer = _string(raw, "ref", where, MAX_URL)
    props = raw.get("props") or {}
    if not isinstance(props, dict):
        raise Invalid(f"{where}.props", "props must be an object")
    props = clean_props(props, f"{where}.props", 1)
    title = _string(raw, "title", where, 300)
    if title:
        props["title"] = title
    if kind in FEEDBACK_TYPES or kind == "chat":
        campaign = props.get("campaign")
        if not isinstance(campaign, str) or not campaign:
            raise Invalid(f"{where}.props.campaign", f"a {kind} event names its campaign")
    if kind == "engaged":
        seconds = props.get("seconds")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 <= seconds <= 86400:
            raise Invalid(f"{where}.props.seconds", "engaged seconds must be a number from 0 to 86400")
    email: str | None = None
    if kind in ("form", "identify"):
        props = without_secrets(props)
        carried = email_in(props)
        if carried is not None or kind == "identify":
            try:
                email = normalise_email(carried)
            except IdentityError as exc:
                if kind == "identify":
                    raise Invalid(f"{where}.props.email", str(exc)) from None
                # A form with a bad e-mail is still a form submission: keep it, unidentified.
    return Incoming(kind, _time(raw.get("t"), now, skew), name, url, referrer, props, email)


def _time(client_ms: Any, now: float, skew: float | None) -> float:
    if skew is None or not isinstance(client_ms, (int, float)) or isinstance(client_ms, bool):
        return now
    return clamp_time(client_ms / 1000.0 - skew, now)


def clamp_time(ts: float, now: float) -> float:
    """Corrected client times stay within the last week and never in the future."""
    return min(now, max(now - MAX_BACKDATE, ts))


def _string(raw: Mapping[str, Any], key: str, where: str, limit: int) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{where}.{key}", f"{key} must be a string")
    if len(value) > limit:
        raise Invalid(f"{where}.{key}", f"{key} is longer than {limit} characters")
    return value


def clean_props(value: dict[str, Any], where: str, depth: int = 1) -> dict[str, Any]:
    """Properties within the caps (count, depth, string length), or ``Invalid`` naming the culprit."""
    if len(value) > MAX_PROPS:
        raise Invalid(where, f"at most {MAX_PROPS} properties")
    cleaned: dict[str, Any] = {}
    for key, item in value.items():
        if len(key) > MAX_NAME:
            raise Invalid(where, f"property name longer than {MAX_NAME} characters")
        cleaned[key] = _clean_value(item, f"{where}.{key}", depth)
    return cleaned


def _clean_value(item: Any, where: str, depth: int) -> Any:
    if isinstance(item, str):
        if len(item) > MAX_STRING:
            raise Invalid(where, f"longer than {MAX_STRING} characters")
        return item
    if item is None or isinstance(item, (bool, int, float)):
        return item
    if depth >= MAX_DEPTH:
        raise Invalid(where, f"properties nest at most {MAX_DEPTH} levels")
    if isinstance(item, dict):
        return clean_props(item, where, depth + 1)
    if isinstance(item, list):
        if len(item) > MAX_PROPS:
            raise Invalid(where, f"at most {MAX_PROPS} items")
        return [_clean_value(x, f"{where}[{i}]", depth + 1) for i, x in enumerate(item)]
    raise Invalid(where, "unsupported value")
