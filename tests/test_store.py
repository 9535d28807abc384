"""What every store promises, on both backends: units are atomic and isolated, a write is
acknowledged once durable, reads see exactly what was acknowledged and run side by side."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tracker.domain.facts import Incoming
from tracker.domain.people import PersonRecord, VisitorRecord
from tracker.store import Queries, Store, open_store
from tracker.store.queries import _DEVICES_AND_PERSONS

from .conftest import new_device


@pytest.fixture
async def store(tmp_path: Path, database: str | None) -> AsyncIterator[Store]:
    opened = open_store(database or str(tmp_path / "t.db"))
    await opened.open()
    yield opened
    await opened.close()


async def persons(store: Store) -> int:
    return int(await store.read(lambda q: q.conn.fetchval("SELECT COUNT(*) FROM persons")))


async def new_site(store: Store) -> int:
    return await store.write(lambda q: q.insert_site("s", "S", [], "", 0.0))


async def test_concurrent_writes_all_land(store: Store) -> None:
    site = await new_site(store)

    async def add(q: Queries) -> int:
        return (await q.insert_person(site, 1.0)).id

    ids = await asyncio.gather(*(store.write(add) for _ in range(200)))
    assert sorted(ids) == list(range(1, 201))
    assert await persons(store) == 200


async def test_a_failing_unit_leaves_no_trace_and_spares_its_neighbours(store: Store) -> None:
    site = await new_site(store)

    async def good(q: Queries) -> int:
        return (await q.insert_person(site, 1.0)).id

    async def bad(q: Queries) -> int:
        await q.insert_person(site, 1.0)
        raise ValueError("half-way")

    results = await asyncio.gather(store.write(good), store.write(bad), store.write(good), return_exceptions=True)
    assert isinstance(results[1], ValueError)
    assert await persons(store) == 2


async def test_reads_see_every_acknowledged_write(store: Store) -> None:
    site = await new_site(store)
    for count in range(1, 13):  # more rounds than a store has read connections: each is reused
        await store.write(lambda q: q.insert_person(site, 1.0))
        # A read that stops at the first of many rows must not leave its connection on an old snapshot.
        assert await store.read(lambda q: q.conn.fetchval("SELECT id FROM persons ORDER BY id")) == 1
        assert await persons(store) == count


async def test_a_read_sees_one_snapshot_even_when_a_write_lands_in_its_middle(store: Store) -> None:
    # A lead read that resolves a person, then reads them, must not find them gone half-way
    # because a merge committed between its two statements (a 404 for a lead that exists).
    site = await new_site(store)
    await store.write(lambda q: q.insert_person(site, 1.0))

    async def straddles_a_write(q: Queries) -> tuple[int, int]:
        before = await q.conn.fetchval("SELECT COUNT(*) FROM persons")
        await store.write(lambda w: w.conn.execute("DELETE FROM persons"))
        return before, await q.conn.fetchval("SELECT COUNT(*) FROM persons")

    assert await store.read(straddles_a_write) == (1, 1)
    assert await persons(store) == 0  # and the next read sees the write


async def test_reads_run_side_by_side(store: Store) -> None:
    other_done = asyncio.Event()

    async def waits_for_the_other(q: Queries) -> None:
        await q.sites()
        await other_done.wait()

    first = asyncio.create_task(store.read(waits_for_the_other))
    await asyncio.sleep(0.01)  # the first read holds its connection
    await asyncio.wait_for(store.read(lambda q: q.sites()), timeout=5)
    other_done.set()
    await first


async def test_a_waiting_read_is_served_while_others_keep_reading(store: Store) -> None:
    stop = False

    async def busy() -> None:
        while not stop:
            await store.read(lambda q: q.conn.fetchval("SELECT 1"))

    # More readers than any pool has connections, each asking again the moment it is done.
    readers = [asyncio.create_task(busy()) for _ in range(24)]
    await asyncio.sleep(0.05)
    try:
        assert await asyncio.wait_for(store.read(lambda q: q.conn.fetchval("SELECT 2")), timeout=10) == 2
    finally:
        stop = True
        await asyncio.gather(*readers)


async def test_a_closed_store_refuses_work(tmp_path: Path, database: str | None) -> None:
    store = open_store(database or str(tmp_path / "t.db"))
    await store.open()
    await store.close()
    with pytest.raises(RuntimeError):
        await store.write(lambda q: q.insert_site("s", "S", [], "", 0.0))
    with pytest.raises(RuntimeError):
        await store.read(lambda q: q.sites())


async def test_an_events_time_is_stored_to_the_millisecond_and_scored_as_stored(store: Store) -> None:
    device, person = await new_device(store)
    event = await store.write(lambda q: q.insert_event(person.id, device.num, Incoming("page", 1793480946.9675705), 1))
    assert event.ts == 1793480946.968  # what the caller scores: a replay of the stored events agrees
    assert [e.ts for e in await store.read(lambda q: q.events_of(person.id))] == [event.ts]


async def test_a_device_is_stored_by_its_number_and_read_back_by_its_id(store: Store) -> None:
    """Events and decisions hold the device's number; every read names the device by its id as before."""
    laptop, person = await new_device(store)

    async def unit(q: Queries) -> VisitorRecord:
        phone = VisitorRecord("v2", laptop.site_id, person.id, 1, "mobile", "Safari", 1.0, 1.0)
        await q.insert_visitor(phone)
        await q.insert_event(person.id, laptop.num, Incoming("page", 1.0), 1)
        await q.insert_event(person.id, phone.num, Incoming("page", 2.0), 1)
        await q.insert_event(person.id, None, Incoming("outcome", 3.0, name="won"), 0)  # sales': no device
        await q.insert_decisions(person.id, phone.num, [("popup", None)], "served", None, 2.0)
        return phone

    phone = await store.write(unit)
    assert 0 < laptop.num < phone.num
    timeline = await store.read(lambda q: q.timeline(person.id, 10))
    assert [event["device"] for event in timeline] == ["", "v2", "v1"]
    visits = await store.read(lambda q: q.visits_of(person.id, None, 10))
    assert [visit["device"] for visit in visits] == ["", "v2", "v1"]
    assert [d["visitor_id"] for d in await store.read(lambda q: q.decisions_of(person.id, 10))] == ["v2"]
    stored = await store.read(lambda q: q.conn.fetchall("SELECT visitor_num FROM events ORDER BY ts"))
    assert [row["visitor_num"] for row in stored] == [laptop.num, phone.num, None]
    found = await store.write(lambda q: q.device_and_person("v2", laptop.site_id))  # it locks: a write unit's read
    assert found is not None and found[0].num == phone.num


async def test_a_trimmed_devices_events_keep_its_id_through_a_merge_and_go_with_the_person(store: Store) -> None:
    laptop, person = await new_device(store)

    async def unit(q: Queries) -> int:
        survivor = await q.insert_person(laptop.site_id, 0.0)
        await q.insert_visitor(VisitorRecord("v2", laptop.site_id, person.id, 1, "mobile", "Safari", 1.0, 1.0))
        await q.insert_event(person.id, laptop.num, Incoming("page", 1.0), 1)
        await q.insert_decisions(person.id, laptop.num, [("popup", None)], "served", None, 1.0)
        assert await q.trim_devices(person.id, "v2", 1) == 1  # the laptop's row goes, its events stay
        await q.move_person_rows(person.id, survivor.id, 2.0)
        return survivor.id

    survivor = await store.write(unit)
    assert await store.read(lambda q: q.visitor("v1", laptop.site_id)) is None
    assert [event["device"] for event in await store.read(lambda q: q.timeline(survivor, 10))] == ["v1"]
    assert [d["visitor_id"] for d in await store.read(lambda q: q.decisions_of(survivor, 10))] == ["v1"]
    await store.write(lambda q: q.delete_persons([survivor]))
    assert await store.read(lambda q: q.conn.fetchval("SELECT COUNT(*) FROM former_devices")) == 0


async def test_many_devices_and_their_persons_are_read_at_once_with_the_ids_of_their_events(store: Store) -> None:
    laptop, person = await new_device(store)

    async def unit(q: Queries) -> tuple[dict[str, tuple[VisitorRecord, PersonRecord]], list[int | None]]:
        other = await q.insert_person(laptop.site_id, 0.0)
        await q.insert_visitor(VisitorRecord("v2", laptop.site_id, person.id, 1, "mobile", "Safari", 1.0, 1.0))
        await q.insert_visitor(VisitorRecord("v3", laptop.site_id, other.id, 1, "mobile", "Safari", 1.0, 1.0))
        elsewhere = await q.insert_site("t", "T", [], "", 0.0)
        stranger = await q.insert_person(elsewhere, 0.0)
        await q.insert_visitor(VisitorRecord("v4", elsewhere, stranger.id, 1, "mobile", "Safari", 1.0, 1.0))
        # Three known devices (two of one person), an unknown one, and one of another site.
        found = await q.devices_and_persons(["v1", "v2", "v3", "nobody", "v4"], laptop.site_id, events=2)
        return found, [await q.conn.next_event_id() for _ in range(2)]

    found, ids = await store.write(unit)
    assert {vid: (v.id, v.num > 0, p.id) for vid, (v, p) in found.items()} == {
        "v1": ("v1", True, person.id),
        "v2": ("v2", True, person.id),
        "v3": ("v3", True, found["v3"][1].id),
    }
    assert found["v3"][1].id != person.id
    # Ids for the events to come, taken with the read where the database hands them out.
    assert None not in ids and ids[0] is not None and ids[1] == ids[0] + 1


async def test_a_batch_finds_its_devices_by_their_ids_not_by_reading_the_whole_site(sqlite_store: Store) -> None:
    """Without statistics SQLite read every device of the site through the site's index (issue #13)."""
    ids = [f"v{n}" for n in range(64)]  # a Segment batch's
    sql = f"EXPLAIN QUERY PLAN {_DEVICES_AND_PERSONS} ({', '.join('?' for _ in ids)}) ORDER BY p.id"
    plan = [str(row["detail"]) for row in await sqlite_store.read(lambda q: q.conn.fetchall(sql, 1, *ids))]
    assert "SEARCH v USING INDEX sqlite_autoindex_visitors_1 (id=?)" in plan
