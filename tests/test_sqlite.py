"""The SQLite store's own promise: concurrent writes share transactions (group commit)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tracker.store import Queries, open_store


async def test_concurrent_writes_share_transactions(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "t.db"))
    await store.open()
    site = await store.write(lambda q: q.insert_site("s", "S", [], "", 0.0))
    transactions = 0

    async def add(q: Queries) -> int:
        nonlocal transactions
        # A unit sees the rows of the units before it in its transaction, which readers do
        # not see until the commit: the first unit of each transaction sees none.
        mine = await q.conn.fetchval("SELECT COUNT(*) FROM persons")
        committed = await store.read(lambda r: r.conn.fetchval("SELECT COUNT(*) FROM persons"))
        transactions += mine == committed
        return (await q.insert_person(site, 1.0)).id

    # Bulk units (a Segment batch's) share them too: SQLite has one writer for all.
    ids = await asyncio.gather(*(store.write(add, bulk=n % 2 == 0) for n in range(200)))
    assert sorted(ids) == list(range(1, 201))
    assert 1 <= transactions < 20  # far fewer transactions than units
    await store.close()
    reopened = open_store(str(tmp_path / "t.db"))
    await reopened.open()
    assert await reopened.read(lambda q: q.conn.fetchval("SELECT COUNT(*) FROM persons")) == 200
    await reopened.close()


async def test_a_write_waits_on_the_loop_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "t.db"))
    await store.open()
    site = await store.write(lambda q: q.insert_site("s", "S", [], "", 0.0))
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)  # as a second worker would
    other.execute("BEGIN IMMEDIATE")
    write = asyncio.ensure_future(store.write(lambda q: q.insert_person(site, 1.0)))
    ticks = 0
    while ticks < 20:  # the loop stays free while the write waits for the lock
        await asyncio.sleep(0.005)
        ticks += 1
    assert not write.done()
    other.execute("COMMIT")
    person = await asyncio.wait_for(write, 5)
    assert person.id == 1
    other.close()
    await store.close()


async def test_readers_map_the_file_and_read_right_after_another_process_shrinks_it(tmp_path: Path) -> None:
    # A memory-mapped page past the end of a truncated file is a SIGBUS, not an error: SQLite must
    # notice the shrink itself before a reader touches the old pages.
    store = open_store(str(tmp_path / "t.db"))
    await store.open()
    try:
        site = await store.write(lambda q: q.insert_site("s", "S", [], "", 0.0))

        async def add(q: Queries) -> None:
            for _ in range(2000):
                await q.insert_person(site, 1.0)

        for _ in range(5):
            await store.write(add)
        other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)  # as `sqlite3 tracker.db VACUUM` would
        other.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the rows in the file itself, where readers map them
        mapped = await asyncio.gather(*(store.read(lambda q: q.conn.fetchval("PRAGMA mmap_size")) for _ in range(8)))
        assert min(mapped) > 0
        assert await store.read(lambda q: q.conn.fetchval("SELECT COUNT(*) FROM persons")) == 10_000
        other.execute("DELETE FROM persons WHERE id > 10")
        before = (tmp_path / "t.db").stat().st_size
        other.execute("VACUUM")
        other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        other.close()
        assert (tmp_path / "t.db").stat().st_size < before / 2
        counts = await asyncio.gather(
            *(store.read(lambda q: q.conn.fetchval("SELECT COUNT(*) FROM persons")) for _ in range(8))
        )
        assert counts == [10] * 8
    finally:
        await store.close()
