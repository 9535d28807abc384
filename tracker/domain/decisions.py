"""Personalisation campaigns: compiled once from ``[[campaigns]]``, decided on every beacon call.

A campaign is a pop-up, a chat prompt, a piece of content for a named page slot or a
banner, shown when its targeting matches the person's decayed scores and stage and the
visitor's context.  ``decide`` is pure: the caller passes the scores computed *after*
the request's events, so the event that crosses a threshold gets its pop-up in its own
response, and the clock as ``now``.

Decisions carry only the marketer's copy from the programme, never anything about the
person: ``PersonView`` holds no identity, so none can leak into a response.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from tracker.domain.experiments import Experiment, compile_experiment
from tracker.domain.facts import FEEDBACK_TYPES, CampaignMemory, Decision, Event, VisitContext
from tracker.domain.programme.checks import (
    ProgrammeError,
    compile_array,
    expect_table,
    parse_duration,
    reject_unknown,
)
from tracker.domain.programme.grade import Grade
from tracker.domain.targeting import Check, PersonView, compile_targeting

KINDS: tuple[str, ...] = ("popup", "chat", "content", "banner")
# Enough to answer "seen this visit?" for any realistic browsing pattern, bounded per person.
MAX_SESSIONS = 20
MAX_FORM_FIELDS = 10
MAX_URL = 2000
MAX_DELAY = 3600

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# Slot names end up in a CSS attribute selector on the page, so no quotes or brackets.
_SLOT = re.compile(r"[A-Za-z0-9_-]{1,60}")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_UNSAFE_URL_CHAR = re.compile(r"[\s\x00-\x1f\x7f\\]")

_CAMPAIGN_KEYS = frozenset(
    {
        "id",
        "kind",
        "priority",
        "title",
        "text",
        "cta",
        "form",
        "slot",
        "opener",
        "trigger",
        "frequency",
        "after_close",
        "after_conversion",
        "when",
        "experiment",
    }
)
_CTA_KEYS = frozenset({"label", "url"})
_FORM_KEYS = frozenset({"name", "submit", "fields"})
_FIELD_KEYS = frozenset({"name", "label"})
_TEXT_LIMITS: Mapping[str, int] = {"title": 120, "text": 1000, "opener": 500, "label": 60}
# Keys that belong to one kind only: required for it, refused for the others.
_KIND_ONLY: Mapping[str, str] = {"slot": "content", "opener": "chat"}


@dataclass(frozen=True, slots=True)
class Campaign:
    """One compiled ``[[campaigns]]`` entry.

    ``placement`` is where it shows ("popup", "chat", "banner" or "slot:<name>"); one
    decision per placement wins.  ``frequency`` is "always", "session", "once" or
    "every" (at most once per ``every`` seconds).  ``after_close`` and
    ``after_conversion`` are suppression spans in seconds, ``math.inf`` for "forever".
    """

    id: str
    kind: str
    priority: int
    placement: str
    content: Mapping[str, Any]
    trigger: Mapping[str, Any]
    frequency: str
    every: float
    after_close: float
    after_conversion: float
    checks: tuple[Check, ...]
    # Variants and control group (``experiments``); None: everybody targeted gets ``content``.
    experiment: Experiment | None = None

    def decision(self) -> Decision:
        """What the beacon receives to show this campaign (the console's preview renders the same)."""
        return Decision(
            campaign=self.id, kind=self.kind, content=self.content, trigger=self.trigger, priority=self.priority
        )

    def targets(self, person: PersonView, ctx: VisitContext) -> bool:
        # A loop, not all(<generator>): this runs for every campaign on every beacon call.
        for check in self.checks:  # noqa: SIM110
            if not check(person, ctx):
                return False
        return True

    def allows(self, memory: CampaignMemory | None, session: str, now: float) -> bool:
        """Whether frequency, close and conversion memory let the campaign show now."""
        if memory is None:
            return True
        closed = _within(memory.closed, self.after_close, now)
        if closed or _within(memory.converted, self.after_conversion, now):
            return False
        if self.frequency == "session":
            return session not in memory.sessions
        if self.frequency == "once":
            return memory.impressions == 0
        if self.frequency == "every":
            return not _within(memory.last_impression, self.every, now)
        return True


def is_campaign_id(text: str) -> bool:
    return _ID.fullmatch(text) is not None


def _within(since: float | None, span: float, now: float) -> bool:
    return since is not None and now - since < span


# ---------------------------------------------------------------------------
# Deciding


def decide(campaigns: Sequence[Campaign], person: PersonView, ctx: VisitContext, now: float) -> list[Decision]:
    """The decisions to send back, one per placement, highest priority first."""
    chosen: dict[str, tuple[int, Campaign]] = {}
    for index, campaign in enumerate(campaigns):
        held = chosen.get(campaign.placement)
        # Ties go to programme order, so a later campaign must beat the holder outright.
        if held is not None and held[1].priority >= campaign.priority:
            continue
        memory = person.campaigns.get(campaign.id)
        if campaign.targets(person, ctx) and campaign.allows(memory, ctx.session, now):
            chosen[campaign.placement] = (index, campaign)
    ranked = sorted(chosen.values(), key=lambda held: (-held[1].priority, held[0]))
    return [campaign.decision() for _, campaign in ranked]


def record_feedback(
    memory: Mapping[str, CampaignMemory],
    event: Event,
    session: str,
    known: Collection[str] | None = None,
) -> dict[str, CampaignMemory] | None:
    """Fold an impression, close or conversion into a copy of the person's campaign memory.

    None when the event is not feedback or names no valid campaign.  Campaign ids come
    from the browser, so pass the programme's ids as ``known`` to keep forged ones out of
    the stored memory.
    """
    if event.type not in FEEDBACK_TYPES:
        return None
    campaign = event.props.get("campaign")
    if not isinstance(campaign, str) or not _ID.fullmatch(campaign):
        return None
    if known is not None and campaign not in known:
        return None
    entry = _copy(memory.get(campaign))
    # Batched events may arrive out of order; the memory keeps the latest time.
    if event.type == "impression":
        _seen(entry, session, event.ts)
    elif event.type == "close":
        entry.closed = _latest(entry.closed, event.ts)
    else:
        entry.converted = _latest(entry.converted, event.ts)
    return {**memory, campaign: entry}


def record_held_out(
    memory: Mapping[str, CampaignMemory], campaign: str, session: str, now: float
) -> dict[str, CampaignMemory]:
    """A control-group person counts as having seen ``campaign``, so frequency caps hold them out
    as often as they show it to the other arms (like is compared with like)."""
    entry = _copy(memory.get(campaign))
    _seen(entry, session, now)
    return {**memory, campaign: entry}


def _copy(before: CampaignMemory | None) -> CampaignMemory:
    return CampaignMemory() if before is None else dataclasses.replace(before, sessions=list(before.sessions))


def _seen(entry: CampaignMemory, session: str, ts: float) -> None:
    entry.impressions += 1
    entry.last_impression = _latest(entry.last_impression, ts)
    if session:
        entry.sessions = [*(s for s in entry.sessions if s != session), session][-MAX_SESSIONS:]


def _latest(current: float | None, ts: float) -> float:
    return ts if current is None else max(current, ts)


# ---------------------------------------------------------------------------
# Compiling


def compile_campaigns(raw: Any, score_names: Collection[str], grade: Grade | None = None) -> tuple[Campaign, ...]:
    """Compile the ``campaigns`` array of a parsed programme; raises ProgrammeError naming the key."""
    names = frozenset(score_names)
    return compile_array(raw, "campaigns", lambda index, item: _compile_campaign(index, item, names, grade))


def _compile_campaign(index: int, raw: Any, names: frozenset[str], grade: Grade | None) -> Campaign:
    table = expect_table(raw, f"campaigns[{index}]")
    campaign_id = table.get("id")
    if not isinstance(campaign_id, str) or not _ID.fullmatch(campaign_id):
        raise ProgrammeError(
            f"campaigns[{index}].id",
            "every campaign needs an id: up to 64 letters, digits, '-', '_' or '.'",
        )
    where = f"campaigns[{campaign_id}]"
    reject_unknown(table, _CAMPAIGN_KEYS, where)
    kind = table.get("kind")
    if kind not in KINDS:
        raise ProgrammeError(f"{where}.kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
    priority = table.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ProgrammeError(f"{where}.priority", f"expected an integer, got {priority!r}")
    content = _compile_content(table, kind, where)
    experiment = None
    if "experiment" in table:
        experiment = compile_experiment(
            table["experiment"],
            table,
            MappingProxyType(content),
            where,
            lambda copy, at: MappingProxyType(_compile_content(copy, kind, at)),
        )
    frequency, every = _compile_frequency(table.get("frequency", "session"), f"{where}.frequency")
    return Campaign(
        id=campaign_id,
        kind=kind,
        priority=priority,
        placement=f"slot:{content['slot']}" if kind == "content" else kind,
        content=MappingProxyType(content),
        trigger=MappingProxyType(_compile_trigger(table.get("trigger", "immediate"), kind, f"{where}.trigger")),
        frequency=frequency,
        every=every,
        after_close=_compile_span(table.get("after_close", "30d"), f"{where}.after_close"),
        after_conversion=_compile_span(table.get("after_conversion", "forever"), f"{where}.after_conversion"),
        checks=compile_targeting(table.get("when", {}), names, f"{where}.when", grade),
        experiment=experiment,
    )


def _compile_content(table: Mapping[str, Any], kind: str, where: str) -> dict[str, Any]:
    """The render fields, in a stable order, only those the marketer set."""
    for key, owner in _KIND_ONLY.items():
        if key in table and kind != owner:
            raise ProgrammeError(f"{where}.{key}", f"only allowed for kind = {owner!r}")
        if key not in table and kind == owner:
            raise ProgrammeError(f"{where}.{key}", f"required for kind = {owner!r}")
    if "form" in table and kind != "popup":
        raise ProgrammeError(f"{where}.form", "an embedded form is only allowed for kind = 'popup'")
    if kind != "chat" and "title" not in table and "text" not in table:
        raise ProgrammeError(f"{where}.text", f"a {kind} needs a title or a text")
    content: dict[str, Any] = {}
    for key in ("title", "text"):
        if key in table:
            content[key] = _plain_text(table[key], key, f"{where}.{key}")
    if "cta" in table:
        content["cta"] = _compile_cta(table["cta"], f"{where}.cta")
    if "form" in table:
        content["form"] = _compile_form(table["form"], f"{where}.form")
    if "slot" in table:
        slot = table["slot"]
        if not isinstance(slot, str) or not _SLOT.fullmatch(slot):
            raise ProgrammeError(f"{where}.slot", "expected a slot name: up to 60 letters, digits, '-' or '_'")
        content["slot"] = slot
    if "opener" in table:
        content["opener"] = _plain_text(table["opener"], "opener", f"{where}.opener")
    return content


def _plain_text(value: Any, field: str, where: str) -> str:
    """Copy the beacon renders as text; limits keep a typo from flooding the page."""
    if not isinstance(value, str) or not value.strip():
        raise ProgrammeError(where, "expected a non-empty string")
    limit = _TEXT_LIMITS[field]
    text = value.strip()
    if len(text) > limit:
        raise ProgrammeError(where, f"{len(text)} characters, at most {limit} allowed")
    return text


def _compile_cta(spec: Any, where: str) -> dict[str, str]:
    table = expect_table(spec, where)
    reject_unknown(table, _CTA_KEYS, where)
    for key in ("label", "url"):
        if key not in table:
            raise ProgrammeError(f"{where}.{key}", "missing")
    return {
        "label": _plain_text(table["label"], "label", f"{where}.label"),
        "url": _safe_url(table["url"], f"{where}.url"),
    }


def _safe_url(value: Any, where: str) -> str:
    """A site path or an http(s) URL: anything else (javascript:, data:) could run code on click."""
    message = "expected a path starting with '/' or an http(s) URL"
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        raise ProgrammeError(where, message)
    # Browsers drop tabs and newlines inside URLs ("java\tscript:") and read "\" as "/".
    if _UNSAFE_URL_CHAR.search(value):
        raise ProgrammeError(where, f"{message}, without spaces, control characters or backslashes")
    if value.startswith("/") and not value.startswith("//"):
        return value
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ProgrammeError(where, message) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ProgrammeError(where, message)
    return value


def _compile_form(spec: Any, where: str) -> dict[str, Any]:
    table = expect_table(spec, where)
    reject_unknown(table, _FORM_KEYS, where)
    name = table.get("name")
    if not isinstance(name, str) or not _ID.fullmatch(name):
        raise ProgrammeError(f"{where}.name", "expected a form name: up to 64 letters, digits, '-', '_' or '.'")
    fields = table.get("fields")
    if not isinstance(fields, list) or not 1 <= len(fields) <= MAX_FORM_FIELDS:
        raise ProgrammeError(f"{where}.fields", f"expected a list of 1 to {MAX_FORM_FIELDS} field names")
    compiled = tuple(_compile_field(field, f"{where}.fields[{i}]") for i, field in enumerate(fields))
    names = [field if isinstance(field, str) else field["name"] for field in compiled]
    if len(set(names)) != len(names):
        raise ProgrammeError(f"{where}.fields", "a field is listed twice")
    # The form exists to identify the visitor; without an e-mail it cannot.
    if "email" not in names:
        raise ProgrammeError(f"{where}.fields", "must include 'email'")
    form: dict[str, Any] = {"name": name, "fields": compiled}
    if "submit" in table:
        form["submit"] = _plain_text(table["submit"], "label", f"{where}.submit")
    return form


def _compile_field(spec: Any, where: str) -> str | dict[str, str]:
    """A field name ("job_title", shown as "Job title") or ``{ name, label }`` with the label in the site's words."""
    if isinstance(spec, Mapping):
        reject_unknown(spec, _FIELD_KEYS, where)
        name = spec.get("name")
        if not isinstance(name, str) or not _FIELD.fullmatch(name):
            raise ProgrammeError(f"{where}.name", f"invalid field name {name!r}")
        if "label" not in spec:
            return name
        return {"name": name, "label": _plain_text(spec["label"], "label", f"{where}.label")}
    if not isinstance(spec, str) or not _FIELD.fullmatch(spec):
        raise ProgrammeError(where, f"invalid field name {spec!r}")
    return spec


def _compile_trigger(spec: Any, kind: str, where: str) -> dict[str, Any]:
    if spec in ("immediate", "exit"):
        trigger: dict[str, Any] = {"on": spec}
    elif isinstance(spec, Mapping) and len(spec) == 1 and ("delay" in spec or "scroll" in spec):
        ((key, value),) = spec.items()
        top, unit, name = (MAX_DELAY, "seconds", "delay") if key == "delay" else (100, "percent", "scroll")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= top:
            raise ProgrammeError(f"{where}.{key}", f"expected a number of {unit} above 0 and at most {top}")
        trigger = {"on": name, unit: value}
    else:
        raise ProgrammeError(where, "expected 'immediate', 'exit', { delay = <seconds> } or { scroll = <percent> }")
    if kind == "content" and trigger["on"] != "immediate":
        raise ProgrammeError(where, "content fills its slot as the page loads: only 'immediate' applies")
    return trigger


def _compile_frequency(spec: Any, where: str) -> tuple[str, float]:
    if spec in ("always", "session", "once"):
        return spec, 0.0
    try:
        return "every", parse_duration(spec, where)
    except ProgrammeError:
        raise ProgrammeError(where, "expected 'always', 'session', 'once' or a duration like '7d' or '12h'") from None


def _compile_span(spec: Any, where: str) -> float:
    return math.inf if spec == "forever" else parse_duration(spec, where)
