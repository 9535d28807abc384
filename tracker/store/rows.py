"""Rows as the rest of the code sees them: typed records and the decoders that build them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from tracker.domain.facts import CampaignMemory, Event, ScoreState
from tracker.domain.people import PersonRecord, VisitorRecord
from tracker.store.conn import Row


@dataclass(slots=True)
class SiteRecord:
    id: int
    key: str
    name: str
    origins: list[str]
    programme: str
    version: int
    # Per-site settings (JSON object; privacy keys are read by privacy.PrivacySettings).
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: int
    site_id: int
    role: str
    name: str
    created_at: float
    last_used_at: float | None  # written at most once a minute (web.auth)


PERSON_COLUMNS = (
    "id, site_id, email, user_id, stage, profile, scoring, campaigns, created_at, identified_at, last_seen_at,"
    " updated_at"
)


VISITOR_COLUMNS = "num, id, site_id, person_id, visits, device, browser, created_at, last_seen_at, bot"

# A device's last_seen_at as the index of recent devices holds it (migration 0023): a slot
# that a device seen again within it keeps, so its row's update touches no index.
SEEN_SLOT_SECONDS = 600


def seen_slot(ts: float) -> int:
    return int(ts // SEEN_SLOT_SECONDS)


EVENT_COLUMNS = "id, type, ts, name, url, referrer, props, title, visit"


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(text: str | bytes | None) -> Any:
    return orjson.loads(text) if text else {}


def split_title(props: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    """An event's props as stored, and the page title they carry ('' if none): a title is stored once
    with its page's address (the ``urls`` table), not in each event's props."""
    title = props.get("title")
    if type(title) is not str or not title:
        return props, ""
    return {key: value for key, value in props.items() if key != "title"}, title


def with_title(props: dict[str, Any], title: str) -> dict[str, Any]:
    """Stored props with their page's title (``event_rows.title``) back where every reader finds it."""
    if title:
        props["title"] = title
    return props


def props_of_row(row: Row) -> dict[str, Any]:
    """The props of an ``event_rows`` row, its title in them."""
    return with_title(loads(row["props"]), row["title"])


def dicts(rows: Iterable[Row]) -> list[dict[str, Any]]:
    # sqlite3.Row iterates over values, not keys: ask for the keys explicitly.
    return [{key: row[key] for key in row.keys()} for row in rows]  # noqa: SIM118


def site_of_row(row: Row) -> SiteRecord:
    return SiteRecord(
        id=int(row["id"]),
        key=row["key"],
        name=row["name"],
        origins=list(loads(row["origins"]) or []),
        programme=row["programme"],
        version=int(row["version"]),
        settings=loads(row["settings"]),
    )


def person_of_row(row: Row) -> PersonRecord:
    campaigns = loads(row["campaigns"])
    return PersonRecord(
        id=int(row["id"]),
        site_id=int(row["site_id"]),
        email=row["email"],
        user_id=row["user_id"],
        stage=row["stage"],
        profile=loads(row["profile"]),
        scoring=ScoreState.from_json(loads(row["scoring"])),
        campaigns={k: CampaignMemory.from_json(v) for k, v in campaigns.items()},
        created_at=float(row["created_at"]),
        identified_at=row["identified_at"],
        last_seen_at=float(row["last_seen_at"]),
        updated_at=float(row["updated_at"]),
    )


def visitor_of_row(row: Row, prefix: str = "") -> VisitorRecord:
    return VisitorRecord(
        id=row[prefix + "id"],
        site_id=int(row[prefix + "site_id"]),
        person_id=int(row[prefix + "person_id"]),
        visits=int(row[prefix + "visits"]),
        device=row[prefix + "device"],
        browser=row[prefix + "browser"],
        created_at=float(row[prefix + "created_at"]),
        last_seen_at=float(row[prefix + "last_seen_at"]),
        bot=row[prefix + "bot"],
        num=int(row[prefix + "num"]),
    )


def event_of_row(row: Row) -> Event:
    return Event(
        id=int(row["id"]),
        type=row["type"],
        ts=float(row["ts"]),
        name=row["name"],
        url=row["url"],
        referrer=row["referrer"],
        props=props_of_row(row),
        visit=int(row["visit"]),
    )


def timeline_event_of_row(row: Row) -> dict[str, Any]:
    """An event as a lead's timeline shows it, with the device (``visitor_id``) that sent it."""
    return {
        "id": int(row["id"]),
        "type": row["type"],
        "name": row["name"],
        "url": row["url"],
        "referrer": row["referrer"],
        "props": props_of_row(row),
        "visit": int(row["visit"]),
        "ts": float(row["ts"]),
        "device": row["visitor_id"],
    }
