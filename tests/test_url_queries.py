"""Events name their URLs by id: each URL stored once, found without a statement once remembered, and
deleted with the last event naming it, even when another instance deletes it or races to name it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from tracker.domain.facts import Incoming
from tracker.domain.people import PersonRecord, VisitorRecord
from tracker.store import Queries, Store, open_store
from tracker.store.sqlite import SqliteStore
from tracker.store.url_queries import url_texts

from .conftest import new_device

SHOP = "https://shop.test"


def _page(url: str, referrer: str = "", **props: object) -> Incoming:
    return Incoming("page", 1.0, url=SHOP + url, referrer=referrer and SHOP + referrer, props=props)


@contextlib.asynccontextmanager
async def _instances(tmp_path: Path, database: str | None, count: int) -> AsyncIterator[list[Store]]:
    """``count`` stores on one database: server instances (PostgreSQL) or worker processes (SQLite)."""
    stores = [open_store(database or str(tmp_path / "t.db")) for _ in range(count)]
    for store in stores:
        await store.open()
    try:
        yield stores
    finally:
        for store in stores:
            await store.close()


async def _person(store: Store, site_id: int, visitor_id: str) -> tuple[VisitorRecord, PersonRecord]:
    async def unit(q: Queries) -> tuple[VisitorRecord, PersonRecord]:
        person = await q.insert_person(site_id, 0.0)
        visitor = VisitorRecord(visitor_id, site_id, person.id, 1, "desktop", "Chrome", 0.0, 0.0)
        await q.insert_visitor(visitor)
        return visitor, person

    return await store.write(unit)


async def _visit(store: Store, device: tuple[VisitorRecord, PersonRecord], *pages: Incoming) -> None:
    visitor, person = device

    async def unit(q: Queries) -> None:
        for page in pages:
            await q.insert_event(person.id, visitor.num, page, 1)

    await store.write(unit)


async def _urls(store: Store) -> list[str]:
    rows = await store.read(lambda q: q.conn.fetchall("SELECT text FROM urls ORDER BY text"))
    return [row["text"] for row in rows]


async def _pages_of(store: Store, person_id: int) -> list[tuple[str, str]]:
    return [(e.url, e.referrer) for e in await store.read(lambda q: q.events_of(person_id))]


async def _rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in await store.read(lambda q: q.conn.fetchall(sql))]


async def _dangling(store: Store) -> int:
    """Events naming a URL that is not stored."""
    sql = "SELECT COUNT(*) FROM events e WHERE " + " OR ".join(
        f"{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM urls u WHERE u.id = e.{column})"
        for column in ("url_id", "referrer_id")
    )
    return int(await store.read(lambda q: q.conn.fetchval(sql)))


async def test_each_url_is_stored_once_whether_page_or_referrer(tmp_path: Path, database: str | None) -> None:
    async with _instances(tmp_path, database, 1) as [store]:
        device = await new_device(store)
        await _visit(store, device, _page("/a"), _page("/b", "/a"))
        await _visit(store, device, _page("/a", "/b"))
        assert await _pages_of(store, device[1].id) == [
            (SHOP + "/a", ""),
            (SHOP + "/b", SHOP + "/a"),
            (SHOP + "/a", SHOP + "/b"),
        ]
        assert await _urls(store) == [SHOP + "/a", SHOP + "/b"]
        # No referrer is no id, not a row for "".
        rows = await store.read(lambda q: q.conn.fetchall("SELECT referrer_id FROM events ORDER BY id"))
        assert rows[0]["referrer_id"] is None and rows[1]["referrer_id"] is not None


async def test_a_persons_events_are_read_through_the_view_by_their_index(sqlite_store: Store) -> None:
    """The view's joins come after the person's index range: a timeline still costs one range."""
    sql = "EXPLAIN QUERY PLAN SELECT id, url, referrer FROM event_rows WHERE person_id = ? ORDER BY ts DESC LIMIT 5"
    plan = await sqlite_store.read(lambda q: q.conn.fetchall(sql, 1))
    steps = [row["detail"] for row in plan]
    assert steps[0] == "SEARCH e USING INDEX events_person_ts (person_id=?)"
    assert all("PRIMARY KEY" in step for step in steps[1:]), steps


async def test_a_replay_reads_by_url_id_the_events_the_view_gives(tmp_path: Path, database: str | None) -> None:
    """``events_by_person`` looks each page up once (``url_texts``) instead of joining it per event."""
    async with _instances(tmp_path, database, 1) as [store]:
        first = await new_device(store)
        second = await _person(store, first[0].site_id, "v2")
        await _visit(store, first, _page("/a", title="Accueil", x=1), _page("/b", "/a", title=42))
        await _visit(store, second, _page("/a", "/elsewhere", title="Home"), Incoming("custom", 2.0, name="x"))
        await _visit(store, first, _page("/c", "/a", title=""))
        people = [first[1].id, second[1].id]
        read = await store.read(lambda q: q.events_by_person(people))
        assert read == {person: await store.read(lambda q, p=person: q.events_of(p)) for person in people}
        assert [len(events) for events in read.values()] == [3, 2]
        # Types left out (those no rule scores) are not read; a person left with none is absent.
        pages = await store.read(lambda q: q.events_by_person(people, ["custom"]))
        assert pages == {first[1].id: read[first[1].id], second[1].id: read[second[1].id][:1]}
        assert await store.read(lambda q: q.events_by_person(people, ["page", "custom"])) == {}
        # Ids no row has any more are left out, however many are asked at once.
        texts = await store.read(lambda q: url_texts(q.conn, range(1, 1200)))
        assert sorted(texts.values()) == await _rows(store, "SELECT text, title FROM urls ORDER BY text, title")


async def test_a_remembered_url_costs_no_statement(sqlite_store: Store) -> None:
    device = await new_device(sqlite_store)
    await _visit(sqlite_store, device, _page("/a", "/b"))
    assert isinstance(sqlite_store, SqliteStore) and sqlite_store._db is not None
    statements: list[str] = []
    sqlite_store._db.set_trace_callback(statements.append)
    await _visit(sqlite_store, device, _page("/b", "/a"), _page("/a"))
    sqlite_store._db.set_trace_callback(None)
    assert statements and not [s for s in statements if "urls" in s]


async def test_deleting_events_deletes_the_urls_no_other_event_names(tmp_path: Path, database: str | None) -> None:
    async with _instances(tmp_path, database, 1) as [store]:
        gone = await new_device(store)
        kept = await _person(store, gone[0].site_id, "v2")
        secret = _page("/secret?email=x@y.example", "/shared-as-referrer", title="Devis de x@y.example")
        await _visit(store, gone, secret, _page("/shared-as-page"))
        await _visit(store, kept, _page("/shared-as-page", "/x"), _page("/x", "/shared-as-referrer"))
        await store.write(lambda q: q.delete_persons([gone[1].id]))
        assert await _urls(store) == [SHOP + u for u in ("/shared-as-page", "/shared-as-referrer", "/x")]
        # And again, through a URL (and title) the deleted person's events remembered: stored anew.
        await _visit(store, kept, secret)
        assert (SHOP + "/secret?email=x@y.example", SHOP + "/shared-as-referrer") in await _pages_of(store, kept[1].id)
        assert await _dangling(store) == 0


async def test_a_url_another_instance_deleted_is_stored_again(tmp_path: Path, database: str | None) -> None:
    async with _instances(tmp_path, database, 2) as [writing, erasing]:
        gone = await new_device(writing)
        other = await _person(writing, gone[0].site_id, "v2")
        await _visit(writing, gone, _page("/only-theirs", title="Theirs"))  # remembered by the writing instance
        await erasing.write(lambda q: q.delete_persons([gone[1].id]))
        assert await _urls(writing) == []
        await _visit(writing, other, _page("/only-theirs", title="Theirs"))
        assert await _pages_of(writing, other[1].id) == [(SHOP + "/only-theirs", "")]
        assert await _dangling(writing) == 0


async def test_events_racing_an_erasure_end_as_if_one_ran_after_the_other(tmp_path: Path, database: str | None) -> None:
    """Each round another instance erases the only person naming a URL while this one names it again."""
    async with _instances(tmp_path, database, 2) as [writing, erasing]:
        site_id = (await new_device(writing))[0].site_id
        survivor = await _person(writing, site_id, "survivor")
        rounds = 12
        for n in range(rounds):
            gone = await _person(writing, site_id, f"gone-{n}")
            await _visit(writing, gone, _page(f"/p{n}", f"/r{n}"))
            await asyncio.gather(
                erasing.write(lambda q, person_id=gone[1].id: q.delete_persons([person_id])),
                _visit(writing, survivor, _page(f"/r{n}", f"/p{n}")),
            )
        pages = [(SHOP + f"/r{n}", SHOP + f"/p{n}") for n in range(rounds)]
        assert await _pages_of(writing, survivor[1].id) == pages
        assert await _urls(writing) == sorted(url for pair in pages for url in pair)
        assert await _dangling(writing) == 0


async def test_a_title_is_stored_once_with_its_address_and_read_back_in_props(
    tmp_path: Path, database: str | None
) -> None:
    async with _instances(tmp_path, database, 1) as [store]:
        device = await new_device(store)
        await _visit(
            store,
            device,
            _page("/a", title="Accueil", x=1),
            _page("/a", title="Accueil"),
            _page("/a", title="Home"),  # the same address under another title: another pair
            _page("/b", "/a", title=42),  # a title that is not a page title's text stays a prop
            _page("/c", title=""),
        )
        events = await store.read(lambda q: q.events_of(device[1].id))
        assert [dict(e.props) for e in events] == [
            {"x": 1, "title": "Accueil"},
            {"title": "Accueil"},
            {"title": "Home"},
            {"title": 42},
            {"title": ""},
        ]
        stored = await _rows(store, "SELECT props FROM events ORDER BY id")
        assert stored == [('{"x":1}',), ("{}",), ("{}",), ('{"title":42}',), ('{"title":""}',)]
        pairs = await _rows(store, "SELECT text, title FROM urls ORDER BY text, title")
        assert pairs == [
            (SHOP + "/a", ""),
            (SHOP + "/a", "Accueil"),
            (SHOP + "/a", "Home"),
            (SHOP + "/b", ""),
            (SHOP + "/c", ""),
        ]
        timeline = await store.read(lambda q: q.timeline(device[1].id, 10))
        assert [event["props"] for event in reversed(timeline)] == [dict(e.props) for e in events]
        await store.write(lambda q: q.delete_persons([device[1].id]))
        assert await _rows(store, "SELECT text, title FROM urls") == []
