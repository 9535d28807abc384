"""Validation of beacon payloads: whole-request errors raise, per-event errors are listed.

A request with a bad envelope (not JSON, no site, no events list) is refused with a
4xx naming the field.  Inside a good envelope each event stands alone: valid events
are kept and each rejected one is reported with its index, field and reason, so one
bad custom event never costs the page view beside it.

Every field the server reads has one JSON type, checked before it is used: a list where
a string belongs, a string where a number belongs, a NUL character (PostgreSQL cannot
store one) is a rejection naming the field, never an exception.  Fields it does not read
are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

import orjson

from tracker.domain.accounts import GROUP_ID
from tracker.domain.facts import EVENT_TYPES, FEEDBACK_TYPES, Incoming
from tracker.domain.identity import IdentityError, email_in, normalise_email, without_secrets
from tracker.domain.values import value
from tracker.errors import BadRequest

MAX_BODY_BYTES = 64 * 1024
MAX_EVENTS = 50
MAX_URL = 2048
MAX_NAME = 100
MAX_STRING = 1000
MAX_PROPS = 50
MAX_DEPTH = 3
# Clock skew correction never moves an event more than this far into the past.
MAX_BACKDATE = 7 * 86400.0
MAX_SITE = 64
MAX_TITLE = 300
MAX_ENGAGED_SECONDS = 86400


@value
class Rejection:
    index: int
    field: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


@value
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
    if not isinstance(site, str) or not site or len(site) > MAX_SITE:
        raise BadRequest("site is required: the site key from data-site", field="site")
    token = data.get("vid")
    if token is not None and not isinstance(token, str):
        raise BadRequest("vid must be a string", field="vid")
    ctx = data.get("ctx", {})
    if not isinstance(ctx, dict):
        raise BadRequest("ctx must be an object", field="ctx")
    for flag in ("webdriver", "consent"):
        if ctx.get(flag) is not None and not isinstance(ctx[flag], bool):
            raise BadRequest(f"ctx.{flag} must be true or false", field=f"ctx.{flag}")
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
    if sent_at is None:
        return None
    if not is_number(sent_at) or sent_at <= 0:
        raise BadRequest("sent_at must be a positive number (milliseconds since 1970)", field="sent_at")
    return sent_at / 1000.0 - now


def _event(raw: Any, where: str, now: float, skew: float | None) -> Incoming:
    if not isinstance(raw, dict):
        raise Invalid(where, f"an event must be an object, got {json_type(raw)}")
    client_ms = raw.get("t")
    if client_ms is not None and not is_number(client_ms):
        raise Invalid(f"{where}.t", f"t must be a number (milliseconds since 1970), got {json_type(client_ms)}")
    # Without the beacon's sending time its clock cannot be corrected: the event happened on arrival.
    ts = now if skew is None or client_ms is None else clamp_time(client_ms / 1000.0 - skew, now)
    return incoming(raw, where, ts)


def incoming(raw: Mapping[str, Any], where: str, ts: float) -> Incoming:
    """One event in the beacon's shape (``type``, ``name``, ``url``, ``ref``, ``title``, ``props``), checked.

    What each kind needs is checked here once, for the beacon and for the Segment calls mapped
    onto its kinds: feedback and chat name their campaign, engaged time has its seconds, and a
    form or identify event identifies by the e-mail its fields carry.
    """
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        expected = ", ".join(sorted(EVENT_TYPES))
        raise Invalid(f"{where}.type", f"unknown event type {describe(kind)}; expected one of {expected}")
    name = _string(raw, "name", where, MAX_NAME)
    if kind == "custom" and not name:
        raise Invalid(f"{where}.name", "a custom event needs a name")
    if kind == "form" and not name:
        name = "form"
    url = _string(raw, "url", where, MAX_URL)
    referrer = _string(raw, "ref", where, MAX_URL)
    props = clean_props(optional_object(raw.get("props"), f"{where}.props"), f"{where}.props")
    # Only a backend holding an ingest key names a person's account (web.segment adds it after this):
    # a visitor's browser must not join whichever company it likes.
    props.pop(GROUP_ID, None)
    title = _string(raw, "title", where, MAX_TITLE)
    if title:
        props["title"] = title
    if kind in FEEDBACK_TYPES or kind == "chat":
        campaign = props.get("campaign")
        if not isinstance(campaign, str) or not campaign:
            raise Invalid(f"{where}.props.campaign", f"a {kind} event names its campaign")
    if kind == "engaged":
        seconds = props.get("seconds")
        if not is_number(seconds) or not 0 <= seconds <= MAX_ENGAGED_SECONDS:
            raise Invalid(f"{where}.props.seconds", f"engaged seconds must be a number from 0 to {MAX_ENGAGED_SECONDS}")
    email: str | None = None
    if kind in ("form", "identify"):
        props = without_secrets(props)
        email = email_of(props, f"{where}.props", strict=kind == "identify")
        if kind == "identify" and email is None:
            raise Invalid(f"{where}.props.email", "an identify event carries an e-mail")
    return Incoming(kind, ts, name, url, referrer, props, email)


def email_of(fields: Mapping[str, Any], where: str, *, strict: bool) -> str | None:
    """The e-mail that form fields or identify traits carry, normalised; None if they carry none.

    ``strict`` (identify calls): a bad e-mail refuses the event, naming the field.  Otherwise a
    bad e-mail leaves the event unidentified: a form with a typo is still a form submission.
    """
    carried = email_in(fields)
    if carried is None:
        return None
    try:
        return normalise_email(carried)
    except IdentityError as exc:
        if strict:
            raise Invalid(f"{where}.email", str(exc)) from None
        return None


def clamp_time(ts: float, now: float) -> float:
    """Corrected client times stay within the last week and never in the future."""
    return min(now, max(now - MAX_BACKDATE, ts))


def _string(raw: Mapping[str, Any], key: str, where: str, limit: int) -> str:
    return optional_text(raw.get(key), f"{where}.{key}", limit) or ""


def optional_text(value: Any, where: str, limit: int) -> str | None:
    """A string field, None when absent; ``Invalid`` if not a string, longer than ``limit`` or holding NUL."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(where, f"expected a string, got {json_type(value)}")
    if len(value) > limit:
        raise Invalid(where, f"longer than {limit} characters")
    if "\x00" in value:
        # PostgreSQL cannot store NUL in text, and no browser or SDK sends one on purpose.
        raise Invalid(where, "contains a NUL character")
    return value


def optional_object(value: Any, where: str) -> dict[str, Any]:
    """An object field, empty when absent; ``Invalid`` if it is anything else."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(where, f"expected an object, got {json_type(value)}")
    return value


def is_number(value: Any) -> TypeGuard[float]:
    """A JSON number: orjson gives finite floats and ints, and ``true`` is a bool, not a number."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def describe(value: Any) -> str:
    """A value as a reason shows it: a string quoted (cut short), anything else by its JSON type."""
    return repr(value[:40]) if isinstance(value, str) else json_type(value)


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for reasons a developer reads."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


# orjson gives exactly these types for JSON numbers and booleans; null is None.
_SCALARS = frozenset({int, float, bool, type(None)})


def clean_props(value: dict[str, Any], where: str, depth: int = 1) -> dict[str, Any]:
    """Properties within the caps (count, depth, string length), or ``Invalid`` naming the culprit."""
    if len(value) > MAX_PROPS:
        raise Invalid(where, f"at most {MAX_PROPS} properties")
    cleaned: dict[str, Any] = {}
    for key, item in value.items():
        if len(key) > MAX_NAME:
            raise Invalid(where, f"property name longer than {MAX_NAME} characters")
        if "\x00" in key:
            # Form fields become profile fields, stored as text: see ``optional_text``.
            raise Invalid(where, "a property name contains a NUL character")
        # The common case, a short string or a scalar, is checked here without building the
        # field's path, which only an error needs: most properties are valid scalars.
        if (type(item) is str and len(item) <= MAX_STRING and "\x00" not in item) or type(item) in _SCALARS:
            cleaned[key] = item
        else:
            cleaned[key] = _clean_value(item, f"{where}.{key}", depth)
    return cleaned


def _clean_value(item: Any, where: str, depth: int) -> Any:
    if isinstance(item, str):
        return optional_text(item, where, MAX_STRING)
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
