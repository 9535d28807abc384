"""The Segment HTTP Tracking API, so official SDKs send to us by changing only their host.

``POST /v1/{identify,track,page,screen,group,alias,batch}`` and analytics.js's short
paths (``/v1/i``, ``/t``, ``/p``, ``/s``, ``/g``, ``/a``, ``/b``).  The write key (HTTP Basic
user, or ``writeKey`` in the body) is an API key with the ``ingest`` role: it names
the site, and it lets a backend score a known user, so it belongs on servers.

Mapping onto our identity rules: ``anonymousId`` is a device (visitor ``a:<id>``);
``userId`` is a backend identity (and an e-mail identity when it is one); an
``identify`` with an e-mail trait identifies like a form does; ``alias`` merges a
device's anonymous history into a user.  ``messageId`` makes deliveries idempotent:
a retried batch never scores twice.  A ``page`` is a page view, and a ``track`` whose name
means one of the beacon's kinds ("download", "Form Submitted"…) is stored as that kind
(``segment_kinds``), so the programme's rules score it as they score the beacon's.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tracker.domain.accounts import GROUP_EVENT, GROUP_ID
from tracker.domain.devices import device_of
from tracker.domain.facts import Incoming
from tracker.domain.identity import IdentityError, is_identified, normalise_email, normalise_user_id, without_secrets
from tracker.domain.keys import digest
from tracker.domain.roles import key_may
from tracker.domain.sites import Site
from tracker.domain.values import value
from tracker.errors import BadRequest, Unauthorized
from tracker.services.ingest import Subject, open_subject, record, resume_subject, save_subject
from tracker.services.runtime import Runtime
from tracker.store import Queries
from tracker.store.rows import ApiKeyRecord
from tracker.web.segment_kinds import kind_of, shape
from tracker.web.validation import (
    MAX_NAME,
    MAX_STRING,
    MAX_URL,
    Invalid,
    Rejection,
    clamp_time,
    clean_props,
    describe,
    email_of,
    incoming,
    json_type,
    optional_object,
    optional_text,
    parse_json,
)

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_MESSAGES = 2500
MAX_ID = 200  # userId, anonymousId, messageId, groupId, previousId
_SHORT = {"i": "identify", "t": "track", "p": "page", "s": "screen", "g": "group", "a": "alias", "b": "batch"}
_TYPES = frozenset({"identify", "track", "page", "screen", "group", "alias"})


@value
class Message:
    """One validated Segment message, ready to record."""

    index: int
    message_id: str | None
    visitor_id: str  # "a:<anonymousId>" or "u:<userId>"
    device: str
    browser: str
    event: Incoming
    alias_of: str | None = None  # alias: the device whose anonymous history folds into the user
    is_bot: bool = False
    note: str | None = None  # said back in the answer's notes: e.g. why a track stayed a custom event


@dataclass(slots=True)
class Outcome:
    accepted: int = 0
    duplicates: int = 0
    notes: list[dict[str, Any]] = field(default_factory=list)


async def single(request: Request) -> Response:
    kind = _kind(request)
    data = await _body(request, MAX_MESSAGE_BYTES)
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object", field="body")
    return await _ingest(request, data, [{**data, "type": kind}])


async def batch(request: Request) -> Response:
    data = await _body(request, MAX_BATCH_BYTES)
    if not isinstance(data, dict) or not isinstance(data.get("batch"), list):
        raise BadRequest('body must be {"batch": [...]}', field="batch")
    messages = data["batch"]
    if not messages or len(messages) > MAX_BATCH_MESSAGES:
        raise BadRequest(f"a batch holds 1 to {MAX_BATCH_MESSAGES} messages", field="batch")
    shared = data.get("context")
    if shared is not None and not isinstance(shared, dict):
        raise BadRequest(f"context must be an object, got {json_type(shared)}", field="context")
    if shared:
        messages = [_with_context(message, shared) for message in messages]
    return await _ingest(request, data, messages)


def _with_context(message: Any, shared: dict[str, Any]) -> Any:
    """``message`` with the batch's context under its own; one of the wrong shape is left for _message to refuse."""
    own = message.get("context") if isinstance(message, dict) else None
    if not isinstance(message, dict) or not isinstance(own, dict | None):
        return message
    return {**message, "context": {**shared, **(own or {})}}


async def _ingest(request: Request, envelope: dict[str, Any], raw: list[Any]) -> Response:
    runtime: Runtime = request.app.state.runtime
    now = runtime.clock()
    # 1. Validate: the write key names the site; each message stands or falls alone.
    key = await _write_key(request, envelope, runtime)
    site = runtime.sites.by_id(key.site_id)
    if site is None:
        raise Unauthorized("this write key's site is not loaded", field="writeKey")
    try:
        sent_at = None if envelope.get("sentAt") is None else _iso(envelope["sentAt"], "sentAt")
    except Invalid as exc:
        raise BadRequest(exc.message, field=exc.field) from None
    rejected: list[Rejection] = []
    messages: list[Message] = []
    for index, item in enumerate(raw):
        try:
            messages.append(_message(index, item, sent_at, now))
        except Invalid as exc:
            rejected.append(Rejection(index, exc.field, exc.message))
    if not messages:
        raise BadRequest("no valid message", field="batch", rejected=[r.to_json() for r in rejected])
    # 2. Drop bots (a user agent in context says so); they are never stored or scored.
    humans = [m for m in messages if not m.is_bot]

    # 3–5. Identify, store and score every message in one durable unit.
    async def unit(q: Queries) -> Outcome:
        return await _record_all(q, site, humans, now, runtime.new_visitor_id)

    # A batch of many messages is a large unit: it takes a bulk writer, where there are some (PostgreSQL).
    outcome = await runtime.store.write(unit, bulk=len(humans) > 1) if humans else Outcome()
    # 6. Respond like Segment ({"success": true}), plus what we did with each message.
    return Response(
        orjson.dumps(
            {
                "success": True,
                "accepted": outcome.accepted,
                "duplicates": outcome.duplicates,
                "bots": len(messages) - len(humans),
                "rejected": [r.to_json() for r in rejected],
                "notes": sorted(
                    [*({"index": m.index, "message": m.note} for m in messages if m.note), *outcome.notes],
                    key=lambda note: int(note["index"]),
                ),
            }
        ),
        media_type="application/json",
    )


async def _record_all(
    q: Queries, site: Site, messages: list[Message], now: float, make_visitor_id: Callable[[], str]
) -> Outcome:
    outcome = Outcome()
    subject: Subject | None = None
    # Ids this batch claimed, each for its first message: a later one with the same id is a duplicate too.
    ours = await q.claim_messages(site.id, [m.message_id for m in messages if m.message_id is not None], now)
    fresh: list[Message] = []
    for message in messages:
        if message.message_id is not None:
            if message.message_id not in ours:
                outcome.duplicates += 1
                continue
            ours.discard(message.message_id)
        fresh.append(message)
    # Every known device of the batch and its person in one read, not one read each: a device's pair
    # stands for it until its person is opened (a later copy of that person would miss the first's
    # changes: it is read again then), or until a merge, a second person on a shared browser or an
    # alias moves devices and people (all read again).  An identity its person already holds, or takes
    # from nobody, changes no one else: a backend's batch names its userId in every message.
    ahead = await q.devices_and_persons({m.visitor_id for m in fresh}, site.id, events=len(fresh))
    opened: set[int] = set()
    for message in fresh:
        # One subject open at a time: two open copies of one person would lose updates.
        if subject is None or subject.visitor.id != message.visitor_id:
            if subject is not None:
                await save_subject(q, subject)
            found = ahead.pop(message.visitor_id, None)
            if found is not None and found[1].id not in opened:
                subject = resume_subject(*found, message.device, message.browser, now)
            else:
                subject = await open_subject(
                    q, site, message.visitor_id, message.device, message.browser, now, partial(str, message.visitor_id)
                )
            opened.add(subject.person.id)
        before = subject.person.id
        await record(q, site, subject, message.event, now, make_visitor_id)
        outcome.notes += [{"index": message.index, "message": warning} for warning in subject.warnings]
        subject.warnings.clear()
        if message.alias_of is not None:
            note = await _alias(q, site, subject, message.alias_of, now, make_visitor_id)
            if note:
                outcome.notes.append({"index": message.index, "message": note})
        if subject.person.id != before or message.alias_of is not None:
            ahead.clear()
        outcome.accepted += 1
    if subject is not None:
        await save_subject(q, subject)
    return outcome


async def _alias(
    q: Queries, site: Site, subject: Subject, alias_of: str, now: float, make_visitor_id: Callable[[], str]
) -> str | None:
    """Fold the device ``alias_of`` into ``subject``, the userId's person (already identified)."""
    await save_subject(q, subject)
    visitor = subject.visitor
    other = await open_subject(q, site, alias_of, visitor.device, visitor.browser, now, partial(str, alias_of))
    note = None
    if other.person.id != subject.person.id:
        if is_identified(other.person):
            note = "cannot_merge_already_identified: both ids belong to identified people; nothing merged"
        else:
            identity = Incoming(type="identify", ts=now, user_id=subject.person.user_id, email=subject.person.email)
            await record(q, site, other, identity, now, make_visitor_id)
    await save_subject(q, other)
    # ``subject`` holds a stale copy of the person the merge rewrote: read it again.
    fresh = await open_subject(q, site, visitor.id, visitor.device, visitor.browser, now, partial(str, visitor.id))
    subject.person, subject.visitor, subject.changed = fresh.person, fresh.visitor, set(fresh.person.scoring.values)
    return note


def _message(index: int, raw: Any, batch_sent_at: float | None, now: float) -> Message:
    where = f"batch[{index}]"
    if not isinstance(raw, dict):
        raise Invalid(where, f"a message must be an object, got {json_type(raw)}")
    try:
        size = len(orjson.dumps(raw))
    except orjson.JSONEncodeError:
        # orjson reads 1,024 levels of nesting but writes only 254; no real message comes near either.
        raise Invalid(where, "a message nests too deeply") from None
    if size > MAX_MESSAGE_BYTES:
        raise Invalid(where, f"a message is at most {MAX_MESSAGE_BYTES} bytes")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in _TYPES:
        raise Invalid(f"{where}.type", f"unknown type {describe(kind)}; expected one of {', '.join(sorted(_TYPES))}")
    user_id = _user_id(raw.get("userId"), f"{where}.userId")
    anonymous_id = optional_text(raw.get("anonymousId"), f"{where}.anonymousId", MAX_ID)
    if user_id is None and not anonymous_id:
        raise Invalid(f"{where}.userId", "no_user_anon_id: every message needs a userId or an anonymousId")
    message_id = optional_text(raw.get("messageId"), f"{where}.messageId", MAX_ID)
    context = optional_object(raw.get("context"), f"{where}.context")
    agent = device_of(optional_text(context.get("userAgent"), f"{where}.context.userAgent", MAX_STRING) or "")
    page = optional_object(context.get("page"), f"{where}.context.page")
    sent_at = batch_sent_at if raw.get("sentAt") is None else _iso(raw["sentAt"], f"{where}.sentAt")
    ts = _timestamp(raw.get("timestamp"), sent_at, now, where)
    visitor_id = f"a:{anonymous_id}" if anonymous_id else f"u:{user_id}"
    event: Incoming
    note: str | None = None
    alias_of: str | None = None
    if kind == "identify":
        traits = without_secrets(_object(raw, "traits", where))
        event = Incoming("identify", ts, props=traits, email=email_of(traits, f"{where}.traits", strict=True))
    elif kind == "track":
        event, note = _track(raw, page, where, ts)
    elif kind in ("page", "screen"):
        name = optional_text(raw.get("name"), f"{where}.name", MAX_NAME) or ""
        shaped = shape("page", _object(raw, "properties", where), page, where)
        if kind == "screen" and not shaped["url"]:
            shaped["url"] = f"app://screen/{name}"
        event = incoming({**shaped, "name": name}, where, ts)
    elif kind == "group":
        group_id = optional_text(raw.get("groupId"), f"{where}.groupId", MAX_ID)
        if not group_id:
            raise Invalid(f"{where}.groupId", "group needs a groupId")
        event = Incoming("custom", ts, name=GROUP_EVENT, props={**_object(raw, "traits", where), GROUP_ID: group_id})
    else:  # alias
        previous = optional_text(raw.get("previousId"), f"{where}.previousId", MAX_ID)
        if not previous or user_id is None:
            raise Invalid(f"{where}.previousId", "alias needs a previousId and a userId")
        # The alias itself is an identify of the user, then a merge of the previous device.
        visitor_id, alias_of = f"u:{user_id}", f"a:{previous}"
        event = Incoming("identify", ts)
    # A call naming its account (``groupId``, or ``context.groupId`` as analytics-python sends it) is the
    # account's event too: usage and support events the customer's backend reports.
    group = optional_text(raw.get("groupId") or context.get("groupId"), f"{where}.groupId", MAX_ID)
    if group and kind != "group":
        event = replace(event, props={**event.props, GROUP_ID: group})
    # Every call identifies by its userId (an e-mail identity when it is one), unless its own
    # traits or form fields carried an e-mail.
    email = event.email or (user_id if user_id and _is_email(user_id) else None)
    if (email, user_id) != (event.email, event.user_id):  # replace() costs as much as the rest of this check
        event = replace(event, email=email, user_id=user_id)
    return Message(index, message_id, visitor_id, agent.type, agent.browser, event, alias_of, agent.is_bot, note)


def _track(raw: Mapping[str, Any], page: Mapping[str, Any], where: str, ts: float) -> tuple[Incoming, str | None]:
    """The beacon kind the track's name means (``segment_kinds``), else the custom event of that name.

    A call that names a kind without what the kind needs (an "engaged" without seconds) stays
    the custom event every track used to be, with a note saying what was missing: the call is
    never lost, and the note tells its developer what the kind's rules need.
    """
    name = optional_text(raw.get("event"), f"{where}.event", MAX_NAME)
    if not name:
        raise Invalid(f"{where}.event", "track needs an event name (at most 100 characters)")
    properties = _object(raw, "properties", where)
    url = optional_text(page.get("url"), f"{where}.context.page.url", MAX_URL) or ""
    custom = Incoming("custom", ts, name=name, url=url, props=properties)
    kind = kind_of(name)
    if kind is None:
        return custom, None
    try:
        return incoming(shape(kind, properties, page, where), where, ts), None
    except Invalid as exc:
        # The beacon's validator names the beacon's ``props``; the sender wrote ``properties``.
        missing = exc.field.replace(f"{where}.props", f"{where}.properties", 1)
        return custom, f"kept_as_custom_event: not stored as kind {kind} ({missing}: {exc.message})"


def _object(raw: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    """``properties`` or ``traits``: an object within the beacon's caps on properties."""
    return clean_props(optional_object(raw.get(key), f"{where}.{key}"), f"{where}.{key}")


async def _write_key(request: Request, envelope: Mapping[str, Any], runtime: Runtime) -> ApiKeyRecord:
    key = _basic_user(request.headers.get("authorization", "")) or envelope.get("writeKey")
    if not isinstance(key, str) or not key:
        raise Unauthorized("a write key is required: HTTP Basic user, or writeKey in the body", field="writeKey")
    hashed = digest(key)
    record_ = await runtime.store.read(lambda q: q.api_key(hashed))
    if record_ is None or not key_may(record_.role, "ingest"):
        raise Unauthorized("unknown write key (create one with `tracker keys create --role ingest`)", field="writeKey")
    return record_


def _basic_user(header: str) -> str | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None


async def _body(request: Request, limit: int) -> Any:
    """The JSON body, gunzipped if sent so; Segment's limits answer 400, as its SDKs expect."""
    runtime: Runtime = request.app.state.runtime
    # A flood from one address is refused (429, Retry-After) before its body is read.
    runtime.guard.check_client(request, runtime.clock())
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise BadRequest(f"body is larger than {limit} bytes", field="body")
    if request.headers.get("content-encoding", "").lower() == "gzip":
        inflater = zlib.decompressobj(wbits=31)
        try:
            body = inflater.decompress(bytes(raw), limit + 1)
        except zlib.error as exc:
            raise BadRequest(f"body is not valid gzip: {exc}", field="body") from None
        if len(body) > limit or inflater.unconsumed_tail:
            raise BadRequest(f"body is larger than {limit} bytes once decompressed", field="body")
        raw = bytearray(body)
    return parse_json(bytes(raw))


def _kind(request: Request) -> str:
    name = str(request.path_params["kind"])
    kind = _SHORT.get(name, name)
    if kind not in _TYPES:
        raise BadRequest(f"unknown call /v1/{name}", field="path")
    return kind


def _timestamp(timestamp: Any, sent_at: float | None, now: float, where: str) -> float:
    """``receivedAt − (sentAt − timestamp)``: the device clock's skew cancels out."""
    if timestamp is None:
        return now
    ts = _iso(timestamp, f"{where}.timestamp")
    return clamp_time(now - (sent_at - ts) if sent_at is not None else ts, now)


def _iso(value: Any, where: str) -> float:
    if not isinstance(value, str):
        raise Invalid(where, f"expected an ISO 8601 time, got {json_type(value)}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(where, f"{describe(value)} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise Invalid(where, "an ISO 8601 time needs a time zone (e.g. Z)")
    return moment.timestamp()


def _user_id(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # Segment's libraries pass a numeric userId through as a JSON number
    try:
        return normalise_user_id(optional_text(value, where, MAX_ID))
    except IdentityError as exc:
        raise Invalid(where, str(exc)) from None


def _is_email(value: str) -> bool:
    try:
        normalise_email(value)
    except IdentityError:
        return False
    return True
