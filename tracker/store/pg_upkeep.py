"""What PostgreSQL's autovacuum does for tracker's tables, done by tracker when autovacuum is off.

Without ``ANALYZE`` the planner has no statistics and guesses: a Segment batch's read of its
devices (``v.site_id = $1 AND v.id IN (…)``) then scanned every device of the site through the
site's index instead of probing the unique id, and /v1/batch's database CPU per event went
from 72 to 390 µs as the tables grew (issue #13, measured on a server with autovacuum off).
Without ``VACUUM`` the rows a purge, a merge or an update left behind are never reclaimed.

So when the server's ``autovacuum`` is off, the store checks every ``UPKEEP_SECONDS`` which of
its tables autovacuum would have analyzed or vacuumed, by autovacuum's own thresholds and the
server's settings of them, and does that.  One instance at a time (an advisory lock); with
autovacuum on, nothing is done.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import asyncpg

UPKEEP_SECONDS = 30.0
# Any constant works as long as every instance uses the same one.
UPKEEP_LOCK = 7_240_002

# Autovacuum's rule (PostgreSQL's autovacuum.c): a table is due once the rows changed since its last
# ANALYZE, or the dead rows, exceed threshold + scale factor × its rows (0 while never counted).
_DUE = """
SELECT quote_ident(s.relname) AS name,
       s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8
           + current_setting('autovacuum_analyze_scale_factor')::float8 * GREATEST(c.reltuples, 0) AS analyze,
       s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8
           + current_setting('autovacuum_vacuum_scale_factor')::float8 * GREATEST(c.reltuples, 0) AS vacuum
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.schemaname = current_schema()
ORDER BY s.relname
"""


@dataclass(frozen=True, slots=True)
class Upkeep:
    analyzed: tuple[str, ...] = ()
    vacuumed: tuple[str, ...] = ()  # each analyzed too


async def autovacuum_is_on(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT current_setting('autovacuum') = 'on'"))


async def upkeep(conn: asyncpg.Connection) -> Upkeep:
    """Analyze and vacuum the tables of the connection's schema that autovacuum would have; nothing
    if another instance is at it.  ``conn`` must be outside a transaction (VACUUM runs in none)."""
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", UPKEEP_LOCK):
        return Upkeep()
    try:
        analyzed: list[str] = []
        vacuumed: list[str] = []
        for row in await conn.fetch(_DUE):
            if row["vacuum"]:
                await conn.execute(f"VACUUM (ANALYZE) {row['name']}")
                vacuumed.append(row["name"])
            elif row["analyze"]:
                await conn.execute(f"ANALYZE {row['name']}")
                analyzed.append(row["name"])
        return Upkeep(tuple(analyzed), tuple(vacuumed))
    finally:
        # Cancelled (the store closing), the connection may refuse it: the lock then goes with the session.
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError):
            await conn.execute("SELECT pg_advisory_unlock($1)", UPKEEP_LOCK)
