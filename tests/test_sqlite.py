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

    ids = await asyncio.gather(*(store.write(add) for _ in range(200)))
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
