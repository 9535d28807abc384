"""store.pg_upkeep: tracker analyzes and vacuums its tables as autovacuum would, when autovacuum is off."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tracker.store import open_store
from tracker.store.pg_upkeep import UPKEEP_LOCK, Upkeep, autovacuum_is_on, upkeep
from tracker.store.postgres import split_schema

from .conftest import POSTGRES, backend

_ROWS = 300


@pytest.fixture
async def conn() -> AsyncIterator[asyncpg.Connection]:
    """A connection to a migrated schema of its own, outside any transaction."""
    async with backend("postgresql") as url:
        assert url is not None
        base, schema = split_schema(url)
        connection = await asyncpg.connect(base, server_settings={"search_path": str(schema)})
        try:
            yield connection
        finally:
            await connection.close()


async def _insert_claims(conn: asyncpg.Connection) -> None:
    rows = [(1, f"m{n}", 0.0) for n in range(_ROWS)]
    await conn.executemany("INSERT INTO message_ids (site_id, message_id, received_at) VALUES ($1, $2, $3)", rows)
    # The counts autovacuum goes by reach the statistics when the backend reports them: now.
    await conn.execute("SELECT pg_stat_force_next_flush()")


async def _stat(conn: asyncpg.Connection, column: str) -> object:
    return await conn.fetchval(
        f"SELECT {column} FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'message_ids'"
    )


async def test_a_table_changed_past_the_threshold_is_analyzed_once(conn: asyncpg.Connection) -> None:
    await _insert_claims(conn)
    assert "message_ids" in (await upkeep(conn)).analyzed
    await conn.execute("SELECT pg_stat_force_next_flush()")
    assert await _stat(conn, "last_analyze") is not None
    assert "message_ids" not in (await upkeep(conn)).analyzed


async def test_dead_rows_past_the_threshold_are_vacuumed(conn: asyncpg.Connection) -> None:
    await _insert_claims(conn)
    await upkeep(conn)
    await conn.execute("DELETE FROM message_ids")
    await conn.execute("SELECT pg_stat_force_next_flush()")
    done = await upkeep(conn)
    assert "message_ids" in done.vacuumed and "message_ids" not in done.analyzed
    await conn.execute("SELECT pg_stat_force_next_flush()")
    assert await _stat(conn, "n_dead_tup") == 0


async def test_nothing_is_done_while_another_instance_is_at_it(conn: asyncpg.Connection) -> None:
    await _insert_claims(conn)
    other = await asyncpg.connect(POSTGRES)
    try:
        await other.execute("SELECT pg_advisory_lock($1)", UPKEEP_LOCK)
        assert await upkeep(conn) == Upkeep()
    finally:
        await other.close()
    assert "message_ids" in (await upkeep(conn)).analyzed


async def test_the_store_says_it_keeps_its_tables_up_when_autovacuum_is_off(
    conn: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    async with backend("postgresql") as url:
        assert url is not None
        store = open_store(url)
        with caplog.at_level(logging.WARNING, logger="tracker.store.postgres"):
            await store.open()
        await store.close()
    said = any("autovacuum is off" in record.getMessage() for record in caplog.records)
    assert said is not await autovacuum_is_on(conn)


async def test_a_store_for_a_short_job_leaves_the_tables_to_the_servers(
    conn: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    """A what-if's child process opens the store without upkeep: no second upkeep task, no second warning."""
    async with backend("postgresql") as url:
        assert url is not None
        store = open_store(url, keep_up=False)
        caplog.clear()  # the schema's own set-up may have said it
        with caplog.at_level(logging.WARNING, logger="tracker.store.postgres"):
            await store.open()
        kept = store._upkeep
        await store.close()
    assert kept is None
    assert not any("autovacuum is off" in record.getMessage() for record in caplog.records)
