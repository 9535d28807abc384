"""A PostgreSQL schema of its own for one in-process measurement, dropped afterwards."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import asyncpg


@contextlib.asynccontextmanager
async def own_schema(db: str | None, prefix: str) -> AsyncIterator[str | None]:
    """``db`` (a PostgreSQL URL) in a schema of its own, so every run starts from the same empty database;
    None (SQLite) as it is."""
    if db is None:
        yield None
        return
    schema = f"{prefix}_{os.getpid()}"
    try:
        yield f"{db}?schema={schema}"
    finally:
        conn = await asyncpg.connect(db)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()
