"""Leads out: filters, cursor pages of the lead list, and CSV / NDJSON export lines.

CSV cells that a spreadsheet would run as a formula are neutralised.  Exports are audited.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import csv
import io
import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import orjson

from tracker.domain.clock import iso
from tracker.domain.lead_filter import LeadFilter
from tracker.domain.leads import lead_summary
from tracker.domain.outcomes import outcome_of_event
from tracker.domain.people import PersonRecord
from tracker.domain.scoring import current_scores
from tracker.domain.sites import Site
from tracker.errors import BadRequest
from tracker.services.sites import compile_site
from tracker.store import Queries, Store

DEFAULT_LEAD_STAGES = ("known", "mql", "sql")
MAX_LIMIT = 500
# Rows per database read, when paging and when exporting.
SCAN = 500
FORMATS = ("csv", "ndjson")
WHATS = ("leads", "timeline")
# Profile fields common enough to get their own CSV column; the whole profile is in "profile".
PROFILE_COLUMNS = ("first_name", "last_name", "company", "job_title", "industry", "phone")
TIMELINE_COLUMNS = (
    "person_id",
    "email",
    "event_id",
    "ts",
    "type",
    "name",
    "url",
    "referrer",
    "visit",
    "device",
    "props",
)
# The latest outcome sales recorded (domain.outcomes), after the profile so older readers keep their columns.
OUTCOME_COLUMNS = ("outcome", "outcome_value", "outcome_reason", "outcome_at")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ---------------------------------------------------------------------------
# The paged list


@dataclass(frozen=True, slots=True)
class Cursor:
    at: float  # the moment every page decays scores to
    value: float  # decayed score of the last lead returned
    id: int


def encode_cursor(cursor: Cursor) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([cursor.at, cursor.value, cursor.id])).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    try:
        at, value, lead_id = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        cursor = Cursor(float(at), float(value), int(lead_id))
    except (binascii.Error, orjson.JSONDecodeError, TypeError, ValueError, OverflowError):
        raise BadRequest("not a cursor this API returned", field="cursor") from None
    if not (math.isfinite(cursor.at) and math.isfinite(cursor.value)) or not 0 <= cursor.id < 2**63:
        raise BadRequest("not a cursor this API returned", field="cursor")
    return cursor


async def lead_page(
    store: Store, site: Site, wanted: LeadFilter, limit: int, cursor: Cursor | None, now: float
) -> tuple[list[PersonRecord], Cursor | None]:
    """Up to ``limit`` leads after ``cursor``, by decayed score then id, and the next page's cursor."""
    at = cursor.at if cursor is not None else now
    scoring = site.programme.scoring
    # Without decay a stored value is the value: the database can start right after the cursor.
    after = (cursor.value, cursor.id) if cursor is not None and scoring.scores[wanted.score].decay is None else None
    last = (-cursor.value, cursor.id) if cursor is not None else None
    # (-decayed, id, person), ascending: the best first; one more than a page says whether more follow.
    kept: list[tuple[float, int, PersonRecord]] = []

    async def scan(after: tuple[float, int] | None) -> list[tuple[float, PersonRecord]]:
        return await store.read(lambda q: q.leads(site.id, wanted, after=after, limit=SCAN))

    def full_below(stored: float) -> bool:
        # Decay only lowers a score: every row from here on scores at most `stored` now.
        return len(kept) > limit and stored < -kept[-1][0]

    while True:
        batch = await scan(after)
        for stored, person in batch:
            if full_below(stored):
                break
            value = current_scores(scoring, person.scoring, at)[wanted.score]
            key = (-value, person.id)
            if not wanted.admits(person, value) or (last is not None and key <= last):
                continue  # filtered out, or on an earlier page
            bisect.insort(kept, (*key, person), key=lambda item: (item[0], item[1]))
            del kept[limit + 1 :]
        if len(batch) < SCAN or full_below(batch[-1][0]):
            break
        after = (batch[-1][0], batch[-1][1].id)
    page = kept[:limit]
    following = Cursor(at, -page[-1][0], page[-1][1]) if len(kept) > limit else None
    return [person for _, _, person in page], following


async def lead_summaries(q: Queries, site: Site, persons: Sequence[PersonRecord], now: float) -> list[dict[str, Any]]:
    """Lead summaries with the routing in force (queue and owner, or None) and the latest outcome (or None)."""
    ids = [person.id for person in persons]
    routed = await q.active_assignments(ids)
    outcomes = await q.latest_outcomes(ids)
    summaries = []
    for person in persons:
        summary = lead_summary(site, person, now)
        assignment = routed.get(person.id)
        summary["routing"] = {"queue": assignment["queue"], "owner": assignment["owner"]} if assignment else None
        outcome = outcomes.get(person.id)
        summary["outcome"] = {**outcome_of_event(outcome), "ts": iso(outcome["ts"])} if outcome else None
        summaries.append(summary)
    return summaries


# ---------------------------------------------------------------------------
# Exports


async def count_leads(store: Store, site: Site, wanted: LeadFilter) -> int:
    return await store.read(lambda q: q.count_leads(site.id, wanted))


async def load_site(store: Store, key: str) -> Site:
    """Site ``key`` compiled, for exports run outside a server (the CLI)."""
    record = await store.read(lambda q: q.site_by_key(key))
    if record is None:
        raise LookupError(f"no site {key!r}")
    return compile_site(record)


async def audit_export(
    store: Store, site: Site, actor: str, what: str, fmt: str, wanted: LeadFilter, now: float
) -> None:
    """Bulk exports of personal data are accounted for like single-person ones (no personal data logged)."""
    # The whole filter, so the log says which leads left; the search is what the user typed, not a lead's data.
    detail = {"format": fmt, **{key: value for key, value in asdict(wanted).items() if value is not None}}
    await store.write(lambda q: q.insert_audit(site.id, now, actor, f"export_{what}", None, detail))


async def export_lines(
    store: Store,
    site: Site,
    wanted: LeadFilter,
    what: str,
    fmt: str,
    now: float,
    progress: Callable[[int], None] | None = None,
) -> AsyncIterator[bytes]:
    """The export file, a chunk per batch of leads; ``progress`` hears how many leads each chunk covered."""
    scores = list(site.programme.scoring.scores)
    if fmt == "csv":
        yield csv_bytes([_lead_header(scores) if what == "leads" else list(TIMELINE_COLUMNS)])
    async for scanned, leads, events in _batches(store, site, wanted, what == "timeline", now):
        if what == "leads":
            records = leads
            columns: Callable[[Mapping[str, Any]], list[Any]] = partial(_lead_row, scores)
        else:
            emails = {lead["id"]: lead["email"] for lead in leads}
            records = [_timeline_entry(event, emails[event["person_id"]]) for event in events]
            columns = _timeline_row
        if records:
            yield (
                csv_bytes([columns(r) for r in records])
                if fmt == "csv"
                else b"".join(orjson.dumps(r) + b"\n" for r in records)
            )
        if progress is not None:
            progress(scanned)


async def _batches(
    store: Store, site: Site, wanted: LeadFilter, with_events: bool, now: float
) -> AsyncIterator[tuple[int, list[dict[str, Any]], list[dict[str, Any]]]]:
    """(rows scanned, lead summaries, their events if asked) per read, in stored-score order."""
    after: tuple[float, int] | None = None
    while True:

        async def read(q: Queries, after: tuple[float, int] | None = after) -> tuple[Any, ...]:
            batch = await q.leads(site.id, wanted, after=after, limit=SCAN)
            scoring = site.programme.scoring
            kept = [
                person
                for _, person in batch
                if wanted.admits(person, current_scores(scoring, person.scoring, now)[wanted.score])
            ]
            events = await q.events_of_many([person.id for person in kept]) if with_events else []
            return batch, await lead_summaries(q, site, kept, now), events

        batch, leads, events = await store.read(read)
        yield len(batch), leads, events
        if len(batch) < SCAN:
            return
        after = (batch[-1][0], batch[-1][1].id)


def _timeline_entry(event: Mapping[str, Any], email: str | None) -> dict[str, Any]:
    entry = {"person_id": event["person_id"], "email": email, "event_id": event["id"]}
    entry.update({key: value for key, value in event.items() if key not in ("person_id", "id")})
    entry["ts"] = iso(event["ts"])
    return entry


def _timeline_row(entry: Mapping[str, Any]) -> list[Any]:
    return [csv_cell(entry[column]) for column in TIMELINE_COLUMNS]


def _lead_header(scores: Sequence[str]) -> list[str]:
    return [
        "id",
        "email",
        "user_id",
        "stage",
        "queue",
        "owner",
        *(f"score_{name}" for name in scores),
        *PROFILE_COLUMNS,
        "created_at",
        "identified_at",
        "last_seen_at",
        "profile",
        *OUTCOME_COLUMNS,
        "grade",
    ]


def _lead_row(scores: Sequence[str], lead: Mapping[str, Any]) -> list[Any]:
    routing = lead["routing"] or {}
    return [
        lead["id"],
        csv_cell(lead["email"]),
        csv_cell(lead["user_id"]),
        lead["stage"],
        csv_cell(routing.get("queue")),
        csv_cell(routing.get("owner")),
        *(lead["scores"][name] for name in scores),
        *(csv_cell(lead["profile"].get(field)) for field in PROFILE_COLUMNS),
        lead["created_at"],
        lead["identified_at"],
        lead["last_seen_at"],
        csv_cell(lead["profile"]),
        *_outcome_cells(lead["outcome"]),
        lead["grade"],
    ]


def _outcome_cells(outcome: Mapping[str, Any] | None) -> list[Any]:
    """The latest outcome: kind, won value, lost reason, when."""
    if outcome is None:
        return [None] * len(OUTCOME_COLUMNS)
    return [outcome["kind"], outcome["value"], csv_cell(outcome["reason"]), outcome["ts"]]


def csv_cell(value: Any) -> Any:
    """A CSV cell: JSON for structures, and text a spreadsheet would run as a formula defused."""
    if isinstance(value, (dict, list)):
        value = orjson.dumps(value).decode()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_bytes(rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


# ---------------------------------------------------------------------------
# Query parameters
