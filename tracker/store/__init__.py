"""Persistence: one ``Store`` per process owns every connection and all SQL."""

from __future__ import annotations

from pathlib import Path

from tracker.domain.people import PersonRecord, VisitorRecord
from tracker.store.base import Store, Unit
from tracker.store.queries import Queries
from tracker.store.rows import ApiKeyRecord, SiteRecord
from tracker.store.threshold_queries import ProposalRecord
from tracker.store.user_queries import SessionRecord, UserRecord

__all__ = [
    "ApiKeyRecord",
    "PersonRecord",
    "ProposalRecord",
    "Queries",
    "SessionRecord",
    "SiteRecord",
    "Store",
    "Unit",
    "UserRecord",
    "VisitorRecord",
    "open_store",
]


def open_store(url: str, *, sqlite_synchronous: str = "FULL", keep_up: bool = True) -> Store:
    """A store for ``url``: ``sqlite:///path/to/file.db`` (or a bare path) or ``postgresql://...``.

    A PostgreSQL URL may carry ``?schema=NAME`` to keep the tables in their own schema.  Without
    ``keep_up`` a PostgreSQL store leaves analyzing and vacuuming (when autovacuum is off) to the
    server's own store: for a short job beside it.
    """
    if url.startswith(("postgresql://", "postgres://")):
        from tracker.store.postgres import PostgresStore

        return PostgresStore(url, keep_up=keep_up)
    from tracker.store.sqlite import SqliteStore

    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    return SqliteStore(Path(path), synchronous=sqlite_synchronous)
