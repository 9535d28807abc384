"""SQL for replaying a site's history: its people a page at a time with their events (what-if and
rescore), and the rescore jobs that remember how far a re-scoring got."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any

from tracker.domain.facts import Event, ScoreState
from tracker.domain.people import PersonRecord
from tracker.domain.rescoring import Standing
from tracker.store.conn import Conn, Row
from tracker.store.rows import PERSON_COLUMNS, dumps, loads, person_of_row, with_title
from tracker.store.url_ids import UrlKey
from tracker.store.url_queries import url_texts

# An event naming no page (url_id NULL), or a page gone since (``event_rows``' LEFT JOIN gives the same).
_NO_URL: UrlKey = ("", "")
_JOB_COLUMNS = (
    "id, site_id, version, status, runner, last_person, total, done, started_by, started_at, heartbeat, finished_at,"
    " summary"
)


def _seen(seen_since: float | None) -> tuple[str, list[float]]:
    """The clause keeping the people seen since ``seen_since`` (none for None), and its argument."""
    return ("", []) if seen_since is None else (" AND last_seen_at >= ?", [seen_since])


class EventsByPerson(Mapping[int, list[Event]]):
    """A page of people's events, read in one statement but built one person at a time, when asked for.

    A what-if lets requests run between people (``services.what_if``): building a page of 500 people's
    events at once held the event loop for up to 75 ms (25,000 events), a beacon call's whole budget.
    """

    def __init__(self, rows: Sequence[Row], urls: Mapping[int, UrlKey]) -> None:
        self._rows = {int(person_id): list(found) for person_id, found in groupby(rows, key=itemgetter(0))}
        self._urls = urls

    def __getitem__(self, person_id: int) -> list[Event]:
        urls = self._urls
        events = []
        for _, event_id, kind, ts, name, url_id, referrer_id, props, visit in self._rows[person_id]:
            url, title = urls.get(url_id, _NO_URL)
            referrer = urls.get(referrer_id, _NO_URL)[0]
            events.append(Event(event_id, kind, ts, name, url, referrer, with_title(loads(props), title), visit))
        return events

    def __iter__(self) -> Iterator[int]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: int
    site_id: int
    version: int  # the programme version the job scores with
    status: str  # running, interrupted, done, superseded
    runner: str  # the run carrying it on: each start or resume has its own
    last_person: int  # every person with a smaller or equal id is done
    total: int  # people of the site when the job started (progress only: people come and go)
    done: int
    started_by: str
    started_at: float
    heartbeat: float
    finished_at: float | None
    summary: dict[str, Any]


def _job(row: Row) -> JobRecord:
    return JobRecord(
        id=int(row["id"]),
        site_id=int(row["site_id"]),
        version=int(row["version"]),
        status=row["status"],
        runner=row["runner"],
        last_person=int(row["last_person"]),
        total=int(row["total"]),
        done=int(row["done"]),
        started_by=row["started_by"],
        started_at=float(row["started_at"]),
        heartbeat=float(row["heartbeat"]),
        finished_at=None if row["finished_at"] is None else float(row["finished_at"]),
        summary=loads(row["summary"]),
    )


class RescoreQueries:
    conn: Conn

    # -- a site's history, a page of people at a time --------------------------------------------

    async def people_after(
        self, site_id: int, after: int, limit: int, seen_since: float | None = None, *, for_update: bool = False
    ) -> list[PersonRecord]:
        """The site's next ``limit`` people by id after ``after`` (seen since ``seen_since``, if given).

        ``for_update`` locks them, in id order, as a write to one person locks it: a request
        changing one of them waits for the unit, or the unit for it.
        """
        lock = self.conn.lock_rows() if for_update else ""
        rows = await self._page_of_people(PERSON_COLUMNS, site_id, after, limit, seen_since, lock)
        return [person_of_row(row) for row in rows]

    async def standings_after(
        self, site_id: int, after: int, limit: int, seen_since: float | None = None
    ) -> list[Standing]:
        """``people_after`` for a what-if: of each person, only what its replay needs (not its profile
        and campaigns, which took about half the time of decoding a whole person)."""
        rows = await self._page_of_people(
            "id, stage, email IS NOT NULL OR user_id IS NOT NULL AS identified, scoring",
            site_id,
            after,
            limit,
            seen_since,
        )
        return [
            Standing(person_id, stage, bool(identified), ScoreState.from_json(loads(scoring)))
            for person_id, stage, identified, scoring in rows
        ]

    async def _page_of_people(
        self, columns: str, site_id: int, after: int, limit: int, seen_since: float | None, lock: str = ""
    ) -> list[Row]:
        seen, since = _seen(seen_since)
        return await self.conn.fetchall(
            f"SELECT {columns} FROM persons WHERE site_id = ? AND id > ?{seen} ORDER BY id LIMIT ?{lock}",
            site_id,
            after,
            *since,
            limit,
        )

    async def count_people(self, site_id: int, seen_since: float | None = None) -> int:
        """The site's people (seen since ``seen_since``, if given): those a rescore or a what-if replays."""
        seen, since = _seen(seen_since)
        return int(await self.conn.fetchval(f"SELECT COUNT(*) FROM persons WHERE site_id = ?{seen}", site_id, *since))

    async def events_by_person(
        self, person_ids: Collection[int], leave_out: Collection[str] = ()
    ) -> Mapping[int, list[Event]]:
        """Every event of these people in replay order, by person (a person without events is absent),
        but those of the types in ``leave_out``.

        Read from ``events`` itself rather than ``event_rows``: a page of people's events name few
        pages, whose texts are read once each (``url_texts``) and shared by all their events.
        """
        if not person_ids:
            return {}
        marks = ", ".join("?" for _ in person_ids)
        left_out = f" AND type NOT IN ({', '.join('?' for _ in leave_out)})" if leave_out else ""
        rows = await self.conn.fetchall(
            # Most events have no props: NULL, rather than the text "{}" to copy and parse (``loads``).
            "SELECT person_id, id, type, ts, name, url_id, referrer_id, NULLIF(props, '{}'), visit FROM events"
            f" WHERE person_id IN ({marks}){left_out} ORDER BY person_id, ts, id",
            *person_ids,
            *leave_out,
        )
        urls = await url_texts(self.conn, {row[i] for row in rows for i in (5, 6) if row[i] is not None})
        return EventsByPerson(rows, urls)

    async def emails_of(self, person_ids: Collection[int]) -> dict[int, str | None]:
        """The e-mail of each of these people who still exists (None: anonymous)."""
        if not person_ids:
            return {}
        marks = ", ".join("?" for _ in person_ids)
        rows = await self.conn.fetchall(f"SELECT id, email FROM persons WHERE id IN ({marks})", *person_ids)
        return {int(row["id"]): row["email"] for row in rows}

    # -- rescore jobs -------------------------------------------------------------------------------

    async def insert_rescore_job(
        self,
        site_id: int,
        version: int,
        runner: str,
        total: int,
        started_by: str,
        summary: Mapping[str, Any],
        now: float,
    ) -> int:
        """A running job; the unique index on open jobs refuses a second one for the site."""
        job_id = await self.conn.fetchval(
            "INSERT INTO rescore_jobs"
            " (site_id, version, status, runner, total, started_by, started_at, heartbeat, summary)"
            " VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?) RETURNING id",
            site_id,
            version,
            runner,
            total,
            started_by,
            now,
            now,
            dumps(dict(summary)),
        )
        return int(job_id)

    async def open_rescore_job(self, site_id: int, *, for_update: bool = False) -> JobRecord | None:
        """The site's unfinished job (running or interrupted), if any."""
        lock = self.conn.lock_rows() if for_update else ""
        row = await self.conn.fetchone(
            f"SELECT {_JOB_COLUMNS} FROM rescore_jobs WHERE site_id = ? AND finished_at IS NULL{lock}", site_id
        )
        return _job(row) if row else None

    async def rescore_job(self, job_id: int, *, for_update: bool = False) -> JobRecord | None:
        lock = self.conn.lock_rows() if for_update else ""
        row = await self.conn.fetchone(f"SELECT {_JOB_COLUMNS} FROM rescore_jobs WHERE id = ?{lock}", job_id)
        return _job(row) if row else None

    async def latest_rescore_job(self, site_id: int) -> JobRecord | None:
        row = await self.conn.fetchone(
            f"SELECT {_JOB_COLUMNS} FROM rescore_jobs WHERE site_id = ? ORDER BY id DESC LIMIT 1", site_id
        )
        return _job(row) if row else None

    async def claim_rescore_job(self, job_id: int, runner: str, now: float) -> None:
        """``runner`` carries the job on from where it is: it is running again."""
        await self.conn.execute(
            "UPDATE rescore_jobs SET status = 'running', runner = ?, heartbeat = ? WHERE id = ?", runner, now, job_id
        )

    async def save_rescore_job(
        self, job_id: int, *, status: str, last_person: int, done: int, summary: Mapping[str, Any], now: float
    ) -> None:
        """Record progress (and the status); a job leaving the open statuses is finished at ``now``."""
        finished = None if status in ("running", "interrupted") else now
        await self.conn.execute(
            "UPDATE rescore_jobs SET status = ?, last_person = ?, done = ?, summary = ?, heartbeat = ?,"
            " finished_at = ? WHERE id = ?",
            status,
            last_person,
            done,
            dumps(dict(summary)),
            now,
            finished,
            job_id,
        )
