"""SQL for the console's what-if runs (``services.what_if_runs``): each run's progress and result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tracker.store.conn import Conn, Row
from tracker.store.rows import dumps, loads

_RUN_COLUMNS = (
    "id, site_id, version, draft, days, status, total, done, started_by, started_at, heartbeat, finished_at,"
    " result, error"
)


@dataclass(frozen=True, slots=True)
class WhatIfRun:
    id: int
    site_id: int
    version: int  # the active programme version the draft is compared with
    draft: str  # the draft's digest (``what_if_runs.digest``): the same text is the same question
    days: int
    status: str  # running, done, failed, interrupted, superseded
    total: int  # people to replay when the run started (progress only: people come and go)
    done: int
    started_by: str
    started_at: float
    heartbeat: float
    finished_at: float | None
    result: dict[str, Any] | None  # ``WhatIf.to_json()`` once done
    error: str | None


def _run(row: Row) -> WhatIfRun:
    return WhatIfRun(
        id=int(row["id"]),
        site_id=int(row["site_id"]),
        version=int(row["version"]),
        draft=row["draft"],
        days=int(row["days"]),
        status=row["status"],
        total=int(row["total"]),
        done=int(row["done"]),
        started_by=row["started_by"],
        started_at=float(row["started_at"]),
        heartbeat=float(row["heartbeat"]),
        finished_at=None if row["finished_at"] is None else float(row["finished_at"]),
        result=None if row["result"] is None else loads(row["result"]),
        error=row["error"],
    )


class WhatIfQueries:
    conn: Conn

    async def insert_what_if_run(
        self, site_id: int, version: int, draft: str, days: int, total: int, started_by: str, now: float
    ) -> WhatIfRun:
        run_id = await self.conn.fetchval(
            "INSERT INTO what_if_runs (site_id, version, draft, days, status, total, started_by, started_at, heartbeat)"
            " VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?) RETURNING id",
            site_id,
            version,
            draft,
            days,
            total,
            started_by,
            now,
            now,
        )
        found = await self.what_if_run(int(run_id))
        assert found is not None
        return found

    async def what_if_run(self, run_id: int) -> WhatIfRun | None:
        row = await self.conn.fetchone(f"SELECT {_RUN_COLUMNS} FROM what_if_runs WHERE id = ?", run_id)
        return _run(row) if row else None

    async def latest_what_if_run(self, site_id: int, draft: str, days: int) -> WhatIfRun | None:
        """The latest run of this draft over these days on the site, whatever its status."""
        row = await self.conn.fetchone(
            f"SELECT {_RUN_COLUMNS} FROM what_if_runs WHERE site_id = ? AND draft = ? AND days = ?"
            " ORDER BY id DESC LIMIT 1",
            site_id,
            draft,
            days,
        )
        return _run(row) if row else None

    async def what_if_progress(self, run_id: int, done: int, now: float) -> bool:
        """Record that ``done`` people are replayed; False when the run is no longer running (superseded)."""
        changed = await self.conn.execute(
            "UPDATE what_if_runs SET done = ?, heartbeat = ? WHERE id = ? AND status = 'running'", done, now, run_id
        )
        return changed > 0

    async def finish_what_if_run(
        self,
        run_id: int,
        status: str,
        now: float,
        *,
        done: int | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """The run ends with ``status`` (unless it was superseded meanwhile), with its result or its error."""
        await self.conn.execute(
            "UPDATE what_if_runs SET status = ?, heartbeat = ?, finished_at = ?, done = COALESCE(?, done), result = ?,"
            " error = ? WHERE id = ? AND status = 'running'",
            status,
            now,
            now,
            done,
            None if result is None else dumps(result),
            error,
            run_id,
        )

    async def supersede_what_if_runs(self, site_id: int, started_by: str, now: float) -> None:
        """Stop the user's running runs on the site: they asked another question since."""
        await self.conn.execute(
            "UPDATE what_if_runs SET status = 'superseded', finished_at = ? WHERE site_id = ? AND started_by = ?"
            " AND status = 'running'",
            now,
            site_id,
            started_by,
        )

    async def forget_what_if_runs(self, site_id: int, before: float) -> None:
        """Delete the site's runs started before ``before``: a result that old answers nobody any more."""
        await self.conn.execute("DELETE FROM what_if_runs WHERE site_id = ? AND started_at < ?", site_id, before)
