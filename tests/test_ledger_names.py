"""Ledger rows name their score, rule and op by id: they read back as written, on both backends,
and a name added by a unit that was rolled back is never named by a remembered id."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.domain.facts import LedgerEntry
from tracker.store import Queries, open_store


async def test_a_ledger_entry_reads_back_as_written(tmp_path: Path, database: str | None) -> None:
    store = open_store(database or str(tmp_path / "t.db"))
    await store.open()
    try:
        entries = [
            LedgerEntry("engagement", "job-offers", 9013, "add", -15.0, 6.0, -9.0, 1793700877.894),
            LedgerEntry("engagement", "decay", None, "decay", -1.5, -9.0, -7.5, 1793700900.0),
        ]
        await store.write(lambda q: q.insert_ledger(5001, entries, rescored_by=4))
        await store.write(lambda q: q.insert_ledger(5001, entries[:1]))
        rows = await store.read(lambda q: q.ledger_of(5001, 10))
        assert [
            LedgerEntry(r["score"], r["rule_id"], r["event_id"], r["op"], r["points"], r["before"], r["after"], r["ts"])
            for r in reversed(rows)
        ] == [*entries, entries[0]]
        assert [r["rescored_by"] for r in reversed(rows)] == [4, 4, None]
        count = "SELECT COUNT(*) FROM ledger_names"
        assert await store.read(lambda q: q.conn.fetchval(count)) == 4  # engagement, job-offers, add, decay
    finally:
        await store.close()


async def test_a_name_added_by_a_rolled_back_unit_is_not_remembered(tmp_path: Path, database: str | None) -> None:
    store = open_store(database or str(tmp_path / "t.db"))
    await store.open()

    async def failing(q: Queries) -> None:
        await q.insert_ledger(1, [LedgerEntry("fit", "gone", None, "add", 1.0, 0.0, 1.0, 1.0)])
        raise RuntimeError("rolled back")

    try:
        with pytest.raises(RuntimeError):
            await store.write(failing)
        # Another name may now take the id the rolled-back row had (SQLite hands it out again).
        await store.write(lambda q: q.insert_ledger(1, [LedgerEntry("fit", "other", None, "add", 1.0, 1.0, 2.0, 2.0)]))
        await store.write(lambda q: q.insert_ledger(1, [LedgerEntry("fit", "gone", None, "add", 1.0, 2.0, 3.0, 3.0)]))
        rows = await store.read(lambda q: q.ledger_of(1, 10))
        assert [row["rule_id"] for row in reversed(rows)] == ["other", "gone"]
    finally:
        await store.close()
