"""Every SQL statement of the application, written once for both backends.

A ``Queries`` object wraps one connection: inside ``Store.write`` it is the write
transaction, inside ``Store.read`` a read-only connection.  Handlers never see SQL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from tracker.domain.facts import Event, Incoming, LedgerEntry, ProfileChange, ScoreState
from tracker.domain.people import PersonRecord, VisitorRecord
from tracker.store.abuse_queries import AbuseQueries
from tracker.store.account_queries import AccountQueries
from tracker.store.audit_queries import AuditQueries
from tracker.store.calibration_queries import CalibrationQueries
from tracker.store.campaign_queries import CampaignQueries
from tracker.store.conn import Conn
from tracker.store.email_queries import EmailQueries
from tracker.store.experiment_queries import ExperimentQueries
from tracker.store.handoff_queries import HandoffQueries
from tracker.store.key_queries import KeyQueries
from tracker.store.lead_queries import LeadQueries
from tracker.store.ledger_names import ledger_name_ids
from tracker.store.message_queries import MessageQueries
from tracker.store.privacy_queries import PrivacyQueries
from tracker.store.programme_queries import ProgrammeQueries
from tracker.store.report_queries import ReportQueries
from tracker.store.rescore_queries import RescoreQueries
from tracker.store.row_updates import person_update, visitor_update
from tracker.store.rows import (
    EVENT_COLUMNS,
    PERSON_COLUMNS,
    VISITOR_COLUMNS,
    dicts,
    dumps,
    event_of_row,
    loads,
    person_of_row,
    seen_slot,
    split_title,
    timeline_event_of_row,
    visitor_of_row,
)
from tracker.store.site_queries import SiteQueries
from tracker.store.threshold_queries import ThresholdQueries
from tracker.store.timeline_queries import TimelineQueries
from tracker.store.url_queries import url_ids
from tracker.store.user_queries import UserQueries
from tracker.store.what_if_queries import WhatIfQueries

_INSERT_EVENT = (
    "INSERT INTO events (person_id, visitor_num, ts, type, name, url_id, referrer_id, props, visit)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_EVENT_WITH_ID = (
    "INSERT INTO events (id, person_id, visitor_num, ts, type, name, url_id, referrer_id, props, visit)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SAVE_SCORE = (
    "INSERT INTO person_scores (person_id, score, value, changed_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (person_id, score) DO UPDATE SET value = excluded.value, changed_at = excluded.changed_at"
)
_INSERT_LEDGER = (
    "INSERT INTO ledger (person_id, score_ref, rule_ref, event_id, op_ref, points, before, after, ts, rescored_by)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_DECISION = (
    "INSERT INTO decisions (person_id, visitor_num, campaign, variant, action, event_id, ts)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# A device and its person in one read: visitor columns prefixed "v_", person columns as they are.
_DEVICE_AND_PERSON = (
    "SELECT "
    + ", ".join(f"v.{c.strip()} AS v_{c.strip()}" for c in VISITOR_COLUMNS.split(","))
    + ", "
    + ", ".join(f"p.{c.strip()}" for c in PERSON_COLUMNS.split(","))
    + " FROM visitors v JOIN persons p ON p.id = v.person_id WHERE v.id = ? AND v.site_id = ?"
)
# The unary + keeps the site out of the index choice (SQLite's documented way; PostgreSQL's planner
# cannot match it to an index either): planners without statistics read the devices through the
# site's index, every device of the site, rather than probing each id in the unique one.
_DEVICES_AND_PERSONS = _DEVICE_AND_PERSON.replace("v.id = ? AND v.site_id = ?", "+v.site_id = ? AND v.id IN")
_DEVICES_PER_STATEMENT = 512
# What a merge does with each table that holds a person id (Mautic #16240 lost links
# because one table had no rule).  tests/test_identity.py checks this covers every
# table in privacy_queries.PERSON_REFERENCES.
#   move: repoint the loser's rows; union: keep the survivor's row where both have one;
#   rebuild: the loser's rows go, the caller rewrites the survivor's from a replay
#   (services.rebuild.rebuild_scores, which clears them itself); alias: the
#   loser's id and the ids merged into it resolve to the survivor; drop: deleted;
#   keep: the survivor's row if it has one, else the loser's becomes the survivor's.
MERGE_RULES: dict[str, str] = {
    "events": "move",
    "visitors": "move",
    "decisions": "move",
    "former_devices": "move",
    "profile_history": "move",
    "stages": "union",
    "ledger": "rebuild",
    "aliases": "alias",
    # Announcements not yet delivered concern the survivor now (payloads are read at delivery).
    "webhook_outbox": "move",
    # Only identified people are routed, and a merged-away person never is one.
    "assignments": "drop",
    "person_scores": "drop",
    "persons": "drop",
    # A person belongs to one account: the survivor keeps theirs, or takes the merged-away one's.
    "account_members": "keep",
}


class Queries(
    PrivacyQueries,
    AbuseQueries,
    AuditQueries,
    HandoffQueries,
    KeyQueries,
    LeadQueries,
    MessageQueries,
    ReportQueries,
    TimelineQueries,
    UserQueries,
    ThresholdQueries,
    CampaignQueries,
    ProgrammeQueries,
    CalibrationQueries,
    RescoreQueries,
    ExperimentQueries,
    EmailQueries,
    AccountQueries,
    SiteQueries,
    WhatIfQueries,
):
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    # -- persons -------------------------------------------------------------------------------

    async def insert_person(
        self, site_id: int, now: float, email: str | None = None, user_id: str | None = None, *, events: int = 0
    ) -> PersonRecord:
        """A new person; with the ids of the ``events`` the unit is about to write for it (``Conn.fetch_locked``)."""
        # The stage starts anonymous even with an identity: the caller records the
        # transition to "known" with the event that caused it.
        identified_at = now if email or user_id else None
        row = await self.conn.fetch_locked(
            "INSERT INTO persons (site_id, email, user_id, stage, created_at, identified_at, last_seen_at, updated_at)"
            " VALUES (?, ?, ?, 'anonymous', ?, ?, ?, ?) RETURNING id",
            site_id,
            email,
            user_id,
            now,
            identified_at,
            now,
            now,
            event_ids=events,
        )
        assert row is not None
        return PersonRecord(
            id=int(row["id"]),
            site_id=site_id,
            email=email,
            user_id=user_id,
            stage="anonymous",
            profile={},
            scoring=ScoreState(),
            campaigns={},
            created_at=now,
            identified_at=identified_at,
            last_seen_at=now,
            updated_at=now,
        )

    async def person(self, person_id: int, *, for_update: bool = False) -> PersonRecord | None:
        # Where rows are locked (PostgreSQL), concurrent instances serialise on one person;
        # SQLite's writer holds the whole database for the unit already.
        lock = self.conn.lock_rows() if for_update else ""
        row = await self.conn.fetchone(f"SELECT {PERSON_COLUMNS} FROM persons WHERE id = ?{lock}", person_id)
        return person_of_row(row) if row else None

    async def person_by_email(self, site_id: int, email: str, *, for_update: bool = False) -> PersonRecord | None:
        lock = self.conn.lock_rows() if for_update else ""
        row = await self.conn.fetchone(
            f"SELECT {PERSON_COLUMNS} FROM persons WHERE site_id = ? AND email = ?{lock}", site_id, email
        )
        return person_of_row(row) if row else None

    async def person_by_user_id(self, site_id: int, user_id: str, *, for_update: bool = False) -> PersonRecord | None:
        lock = self.conn.lock_rows() if for_update else ""
        row = await self.conn.fetchone(
            f"SELECT {PERSON_COLUMNS} FROM persons WHERE site_id = ? AND user_id = ?{lock}", site_id, user_id
        )
        return person_of_row(row) if row else None

    async def save_person(self, person: PersonRecord) -> None:
        stored = self.conn.hot.saving_person(person.id) if self.conn.hot is not None else None
        sql, args = person_update(person, stored)
        await self.conn.defer("persons", sql, *args, key=person.id)

    async def save_scores(self, person_id: int, values: Mapping[str, float], last: Mapping[str, float]) -> None:
        for name, value in values.items():
            await self.conn.defer("person_scores", _SAVE_SCORE, person_id, name, value, last.get(name, 0.0))

    async def resolve_person_id(self, person_id: int) -> int | None:
        """The current id of a person, following a merge alias if the id was merged away."""
        if await self.conn.fetchval("SELECT id FROM persons WHERE id = ?", person_id) is not None:
            return person_id
        target = await self.conn.fetchval("SELECT person_id FROM aliases WHERE old_id = ?", person_id)
        return int(target) if target is not None else None

    # -- visitors (devices) --------------------------------------------------------------------

    async def device_and_person(
        self, visitor_id: str, site_id: int, *, events: int = 0
    ) -> tuple[VisitorRecord, PersonRecord] | None:
        """The device and its person, locked for this unit: the one read of person state per request.

        Where rows are locked (PostgreSQL) the read may have waited for a merge on another
        instance that moved the device meanwhile: the locked re-check then finds no pair,
        and we read again.  It also takes the ids of the ``events`` the unit is about to write
        (``Conn.fetch_locked``), so they need no statement of their own.
        """
        found = self.conn.hot.recall(visitor_id, site_id) if self.conn.hot is not None else None
        if found is not None:
            return found
        lock = self.conn.lock_rows("v", "p")
        while True:
            row = await self.conn.fetch_locked(_DEVICE_AND_PERSON + lock, visitor_id, site_id, event_ids=events)
            if row is not None:
                return visitor_of_row(row, "v_"), person_of_row(row)
            # Without row locks nothing was waited for, so nothing moved: the device is new.
            if not lock or await self.visitor(visitor_id, site_id) is None:
                return None

    async def devices_and_persons(
        self, visitor_ids: Collection[str], site_id: int, *, events: int = 0
    ) -> dict[str, tuple[VisitorRecord, PersonRecord]]:
        """``device_and_person`` of many devices in one read (a Segment batch's): those found, by id.

        Rows are locked in their person's order, so two units locking some of the same never wait
        for each other in a circle.  A device missing here may have been moved by a merge the read
        waited for: ``device_and_person`` reads it alone.
        """
        found: dict[str, tuple[VisitorRecord, PersonRecord]] = {}
        unknown: list[str] = []
        for visitor_id in visitor_ids:
            hot = self.conn.hot.recall(visitor_id, site_id) if self.conn.hot is not None else None
            if hot is not None:
                found[visitor_id] = hot
            else:
                unknown.append(visitor_id)
        lock = self.conn.lock_rows("v", "p")
        for start in range(0, len(unknown), _DEVICES_PER_STATEMENT):
            part = unknown[start : start + _DEVICES_PER_STATEMENT]
            # Padded to a power of two with its last id: a few statement texts, each prepared once.
            part += part[-1:] * ((1 << (len(part) - 1).bit_length()) - len(part))
            rows = await self.conn.fetchall_locked(
                f"{_DEVICES_AND_PERSONS} ({', '.join('?' for _ in part)}) ORDER BY p.id{lock}",
                site_id,
                *part,
                # Taken after the last rows are locked (see ``Conn.fetch_locked``).
                event_ids=events if start + _DEVICES_PER_STATEMENT >= len(unknown) else 0,
            )
            found.update((row["v_id"], (visitor_of_row(row, "v_"), person_of_row(row))) for row in rows)
        return found

    def remember_device(self, visitor: VisitorRecord, person: PersonRecord) -> None:
        """The device and person this unit has just saved, for the device's next request (``Conn.hot``)."""
        if self.conn.hot is not None:
            self.conn.hot.remember(visitor, person)

    async def visitor(self, visitor_id: str, site_id: int) -> VisitorRecord | None:
        row = await self.conn.fetchone(
            f"SELECT {VISITOR_COLUMNS} FROM visitors WHERE id = ? AND site_id = ?", visitor_id, site_id
        )
        return visitor_of_row(row) if row else None

    async def insert_visitor(self, visitor: VisitorRecord) -> None:
        """Insert the device's row and give ``visitor`` the number it got."""
        num = await self.conn.fetchval(
            "INSERT INTO visitors (id, site_id, person_id, visits, device, browser, created_at, last_seen_at,"
            " seen_slot, bot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING num",
            visitor.id,
            visitor.site_id,
            visitor.person_id,
            visitor.visits,
            visitor.device,
            visitor.browser,
            visitor.created_at,
            visitor.last_seen_at,
            seen_slot(visitor.last_seen_at),
            visitor.bot,
        )
        visitor.num = int(num)

    async def save_visitor(self, visitor: VisitorRecord) -> None:
        stored = self.conn.hot.saving_visitor(visitor.id) if self.conn.hot is not None else None
        sql, args = visitor_update(visitor, stored)
        await self.conn.defer("visitors", sql, *args, key=visitor.id)

    async def visitors_of(self, person_id: int) -> list[VisitorRecord]:
        rows = await self.conn.fetchall(
            f"SELECT {VISITOR_COLUMNS} FROM visitors WHERE person_id = ? ORDER BY created_at", person_id
        )
        return [visitor_of_row(row) for row in rows]

    # -- events, ledger, stages, decisions -----------------------------------------------------

    async def insert_event(self, person_id: int, device: int | None, incoming: Incoming, visit: int) -> Event:
        """Store ``incoming`` as the ``visit``-th visit's event of the device numbered ``device`` (None: of
        no device); return it as stored, with its id.

        Its time is kept to the millisecond (what a beacon measures), so it is short wherever it is copied
        as text (a person's scoring state); scoring gets the stored time, so a replay agrees.
        """
        ts = round(incoming.ts, 3)
        props, title = split_title(incoming.props)
        url_id, referrer_id = await url_ids(self.conn, (incoming.url, title), (incoming.referrer, ""))
        values = (
            person_id,
            device,
            ts,
            incoming.type,
            incoming.name,
            url_id,
            referrer_id,
            dumps(props),
            visit,
        )
        event_id = await self.conn.next_event_id()
        if event_id is None:
            event_id = await self.conn.fetchval(_INSERT_EVENT + " RETURNING id", *values)
        else:
            await self.conn.defer("events", _INSERT_EVENT_WITH_ID, event_id, *values)
        return Event(
            int(event_id),
            incoming.type,
            ts,
            incoming.name,
            incoming.url,
            incoming.referrer,
            incoming.props,
            visit,
        )

    async def events_of(self, person_id: int) -> list[Event]:
        """Every event of a person in replay order."""
        rows = await self.conn.fetchall(
            f"SELECT {EVENT_COLUMNS} FROM event_rows WHERE person_id = ? ORDER BY ts, id", person_id
        )
        return [event_of_row(row) for row in rows]

    async def timeline(self, person_id: int, limit: int) -> list[dict[str, Any]]:
        rows = await self.conn.fetchall(
            f"SELECT {EVENT_COLUMNS}, visitor_id FROM event_rows WHERE person_id = ? ORDER BY ts DESC, id DESC LIMIT ?",
            person_id,
            limit,
        )
        return [timeline_event_of_row(row) for row in rows]

    async def insert_ledger(
        self, person_id: int, entries: Sequence[LedgerEntry], *, rescored_by: int | None = None
    ) -> None:
        """Ledger rows; ``rescored_by`` names the programme version of a rescore that wrote them."""
        ids = await ledger_name_ids(self.conn, {text for e in entries for text in (e.score, e.rule_id, e.op)})
        for e in entries:
            await self.conn.defer(
                "ledger",
                _INSERT_LEDGER,
                person_id,
                ids[e.score],
                ids[e.rule_id],
                e.event_id,
                ids[e.op],
                e.points,
                e.before,
                e.after,
                e.ts,
                rescored_by,
            )

    async def insert_profile_history(
        self, person_id: int, visitor_id: str | None, event_id: int | None, changes: Iterable[ProfileChange], ts: float
    ) -> None:
        await self.conn.executemany(
            "INSERT INTO profile_history (person_id, field, new_value, old_value, applied, visitor_id, event_id, ts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (person_id, c.field, dumps(c.value), dumps(c.previous), int(c.applied), visitor_id, event_id, ts)
                for c in changes
            ],
        )

    async def profile_history_of(self, person_id: int, limit: int) -> list[dict[str, Any]]:
        rows = await self.conn.fetchall(
            "SELECT field, new_value, old_value, applied, visitor_id, event_id, ts FROM profile_history"
            " WHERE person_id = ? ORDER BY id DESC LIMIT ?",
            person_id,
            limit,
        )
        return [
            {
                "field": row["field"],
                "value": loads(row["new_value"]),
                "previous": loads(row["old_value"]),
                "applied": bool(row["applied"]),
                "visitor_id": row["visitor_id"],
                "event_id": row["event_id"],
                "ts": row["ts"],
            }
            for row in rows
        ]

    async def ledger_of(self, person_id: int, limit: int) -> list[dict[str, Any]]:
        rows = await self.conn.fetchall(
            "SELECT score, rule_id, event_id, op, points, before, after, ts, rescored_by FROM ledger_rows"
            " WHERE person_id = ? ORDER BY id DESC LIMIT ?",
            person_id,
            limit,
        )
        return dicts(rows)

    async def insert_stage(
        self, person_id: int, stage: str, ts: float, event_id: int | None, reason: str | None = None
    ) -> None:
        await self.conn.execute(
            "INSERT INTO stages (person_id, stage, ts, event_id, reason) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (person_id, stage) DO NOTHING",
            person_id,
            stage,
            ts,
            event_id,
            reason,
        )

    async def stages_of(self, person_id: int) -> list[dict[str, Any]]:
        rows = await self.conn.fetchall(
            "SELECT stage, ts, event_id, reason FROM stages WHERE person_id = ? ORDER BY ts, stage", person_id
        )
        return dicts(rows)

    async def insert_decisions(
        self,
        person_id: int,
        device: int,
        campaigns: Sequence[tuple[str, str | None]],
        action: str,
        event_id: int | None,
        ts: float,
    ) -> None:
        """Log ``action`` for each ``(campaign, experiment arm or None)``, by the device numbered ``device``."""
        for campaign, variant in campaigns:
            await self.conn.defer(
                "decisions", _INSERT_DECISION, person_id, device, campaign, variant, action, event_id, ts
            )

    async def decisions_of(self, person_id: int, limit: int) -> list[dict[str, Any]]:
        rows = await self.conn.fetchall(
            "SELECT campaign, variant, action, event_id, visitor_id, ts FROM decision_rows WHERE person_id = ?"
            " ORDER BY id DESC LIMIT ?",
            person_id,
            limit,
        )
        return dicts(rows)

    # -- merge ---------------------------------------------------------------------------------

    async def move_person_rows(self, loser: int, survivor: int, now: float) -> None:
        """Apply ``MERGE_RULES``: every row that refers to ``loser`` ends with ``survivor`` or is rebuilt."""
        for table, rule in MERGE_RULES.items():
            if rule == "move":
                await self.conn.execute(f"UPDATE {table} SET person_id = ? WHERE person_id = ?", survivor, loser)
            elif rule == "union":
                await self.conn.execute(
                    "INSERT INTO stages (person_id, stage, ts, event_id, reason)"
                    " SELECT ?, stage, ts, event_id, reason FROM stages WHERE person_id = ?"
                    " ON CONFLICT (person_id, stage) DO NOTHING",
                    survivor,
                    loser,
                )
                await self.conn.execute("DELETE FROM stages WHERE person_id = ?", loser)
            elif rule == "rebuild":
                await self.conn.execute(f"DELETE FROM {table} WHERE person_id = ?", loser)
            elif rule == "keep":
                await self.conn.execute(
                    f"UPDATE {table} SET person_id = ? WHERE person_id = ?"
                    f" AND NOT EXISTS (SELECT 1 FROM {table} WHERE person_id = ?)",
                    survivor,
                    loser,
                    survivor,
                )
                await self.conn.execute(f"DELETE FROM {table} WHERE person_id = ?", loser)
            elif rule == "alias":
                await self.conn.execute("UPDATE aliases SET person_id = ? WHERE person_id = ?", survivor, loser)
                await self.conn.execute(
                    "INSERT INTO aliases (old_id, person_id, merged_at) VALUES (?, ?, ?)", loser, survivor, now
                )
            else:  # "drop": the loser's own row (and its denormalised copies) go
                await self.conn.execute(
                    f"DELETE FROM {table} WHERE {'id' if table == 'persons' else 'person_id'} = ?", loser
                )

    async def aliases_of(self, person_id: int) -> list[int]:
        rows = await self.conn.fetchall("SELECT old_id FROM aliases WHERE person_id = ? ORDER BY old_id", person_id)
        return [int(row["old_id"]) for row in rows]
