"""Shared fixtures: an in-process server on a temporary SQLite file, a fake clock,
deterministic visitor ids, and a small client that speaks the beacon protocol."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tracker.app import DEMO_PROGRAMME, create_app
from tracker.config import Settings
from tracker.domain.keys import digest, new_key
from tracker.domain.people import PersonRecord, VisitorRecord
from tracker.services.runtime import Runtime
from tracker.services.sites import save_site
from tracker.store import Queries, Store, open_store

from .schema_pool import SchemaPool

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)
SEED_GRID = DEMO_PROGRAMME.read_text(encoding="utf-8")
BASE = "http://shop.test"
POSTGRES = os.environ.get("TRACKER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]
# httpx's default (certifi's CA bundle), made once: loading the bundle costs ~20 ms a client.
TLS = httpx.create_ssl_context()


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Beacon:
    """Talks to /collect like the browser script does, remembering its visitor token."""

    def __init__(self, http: httpx.AsyncClient, site: str = "demo", user_agent: str = CHROME) -> None:
        self.http = http
        self.site = site
        self.user_agent = user_agent
        self.vid: str | None = None
        self.cookie: str | None = None  # each beacon is its own browser: its own cookie jar

    async def send(self, *events: dict[str, Any], expect: int = 200, **envelope: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"site": self.site, "events": list(events), **envelope}
        if self.vid and "vid" not in envelope:
            body["vid"] = self.vid
        headers = {"user-agent": self.user_agent}
        if self.cookie:
            headers["cookie"] = f"tk_vid={self.cookie}"
        response = await self.http.post("/collect", json=body, headers=headers)
        self.http.cookies.clear()
        self.cookie = response.cookies.get("tk_vid") or self.cookie
        assert response.status_code == expect, response.text
        data: dict[str, Any] = response.json()
        if response.status_code == 200 and data.get("vid"):
            self.vid = data["vid"]
        return data

    async def page(self, path: str, **props: Any) -> dict[str, Any]:
        return await self.send({"type": "page", "url": BASE + path, "props": props})

    async def download(self, path: str) -> dict[str, Any]:
        return await self.send({"type": "download", "url": BASE + path, "props": {"page": BASE + "/demo/"}})

    async def form(self, name: str, **fields: Any) -> dict[str, Any]:
        return await self.send({"type": "form", "name": name, "url": BASE + "/demo/contact", "props": fields})


class Server:
    def __init__(self, app: Starlette, http: httpx.AsyncClient, clock: Clock) -> None:
        self.app = app
        self.http = http
        self.clock = clock
        self._keys: dict[str, str] = {}

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def beacon(self, **kwargs: Any) -> Beacon:
        return Beacon(self.http, **kwargs)

    async def load_programme(self, source: str, site: str = "demo", origins: list[str] | None = None) -> None:
        await save_site(self.runtime.store, site, name=site, origins=origins, programme=source, now=self.clock())
        await self.runtime.sites.refresh()

    async def key(self, role: str = "sales", site: str = "demo") -> str:
        if (role, site) not in self._keys:
            key = new_key()
            record = await self.runtime.store.read(lambda q: q.site_by_key(site))
            assert record is not None
            await self.runtime.store.write(lambda q: q.insert_api_key(record.id, role, "test", digest(key), 0.0))
            self._keys[role, site] = key
        return self._keys[role, site]

    async def api(self, path: str, expect: int = 200, role: str = "sales", **params: Any) -> Any:
        key = await self.key(role)
        response = await self.http.get(path, params=params, headers={"authorization": f"Bearer {key}"})
        assert response.status_code == expect, response.text
        return response.json()

    async def person_of(self, beacon: Beacon) -> dict[str, Any]:
        assert beacon.vid is not None
        found = await self.api(f"/api/visitors/{beacon.vid}")
        lead: dict[str, Any] = await self.api(f"/api/leads/{found['person_id']}")
        return lead

    async def count(self, table: str) -> int:
        async def run(q: Any) -> int:
            return int(await q.conn.fetchval(f"SELECT COUNT(*) FROM {table}"))

        return await self.runtime.store.read(run)


@pytest.fixture
def clock() -> Clock:
    return Clock()


SCHEMAS = SchemaPool(POSTGRES)


@contextlib.asynccontextmanager
async def backend(name: str, *, fresh: bool = False) -> AsyncIterator[str | None]:
    """The database URL of ``name``: None (SQLite in the data dir) or a PostgreSQL schema of its own,
    migrated and empty (``fresh``: not even migrated)."""
    if name == "sqlite":
        yield None
        return
    async with SCHEMAS.schema(fresh=fresh) as schema:
        yield f"{POSTGRES}?schema={schema}"


@pytest.fixture
async def database(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """The database URL for one test, on each backend in turn (a test marked ``fresh_database``
    gets a PostgreSQL schema that no migration has touched yet)."""
    async with backend(request.param, fresh=request.node.get_closest_marker("fresh_database") is not None) as url:
        yield url


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fresh_database: the test's PostgreSQL schema is new, not yet migrated")


def pytest_sessionfinish(session: pytest.Session) -> None:
    asyncio.run(SCHEMAS.drop_all())
    SQLITE_TEMPLATE.remove()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test that runs a server runs against both backends.
    if "database" in metafunc.fixturenames:
        metafunc.parametrize("database", BACKENDS, indirect=True)


@pytest.fixture
async def server(tmp_path: Path, clock: Clock, database: str | None) -> AsyncIterator[Server]:
    async with running_server(tmp_path, clock, database) as running:
        yield running


class SqliteTemplate:
    """A SQLite database file migrated once, copied into each server test's data dir.

    Migrating a new SQLite file costs ~60 ms of DDL (each CREATE re-reads the whole schema) and a
    server test runs on SQLite ~500 times: the copy costs under 1 ms.  The server still opens it as
    it opens any existing database (checking which migrations it has); migrating a new file is
    tested where it is the subject (tests/test_store_migrations.py, the CLI and `tracker serve`
    tests).  The PostgreSQL side of the same saving is tests/schema_pool.py.
    """

    def __init__(self) -> None:
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    async def copy_to(self, data_dir: Path) -> None:
        target = data_dir / "tracker.db"
        if target.exists():  # a test's own database, left as it is
            return
        if self._folder is None:
            folder = tempfile.TemporaryDirectory(prefix="tracker-template-")
            store = open_store(str(Path(folder.name) / "tracker.db"))
            await store.open()
            await store.close()
            # Closing checkpoints the write-ahead log into the file and removes it: one file holds it all.
            assert not (Path(folder.name) / "tracker.db-wal").exists()
            self._folder = folder
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(self._folder.name) / "tracker.db", target)

    def remove(self) -> None:
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None


SQLITE_TEMPLATE = SqliteTemplate()


@contextlib.asynccontextmanager
async def running_server(data_dir: Path, clock: Clock, database: str | None) -> AsyncIterator[Server]:
    """An in-process server on ``database`` (None: SQLite in ``data_dir``, from a migrated copy)
    with deterministic visitor ids."""
    ids = (f"visitor-{n}" for n in itertools.count(1))
    if database is None:
        await SQLITE_TEMPLATE.copy_to(data_dir)
    # Passwords hashed at argon2's cheapest: the production cost is spent in a test of its own.
    settings = Settings(
        data_dir=data_dir, db=database, demo=True, secret="test-secret", password_hashing="cheapest-for-tests"
    )
    # Webhooks go out through httpx's usual transport, on one TLS context for the whole suite.
    webhooks = httpx.AsyncHTTPTransport(verify=TLS)
    app = create_app(settings, clock=clock, visitor_ids=lambda: next(ids), webhook_transport=webhooks)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            yield Server(app, http, clock)


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    """An open SQLite store of its own, for tests of the store's parts."""
    store = open_store(str(tmp_path / "t.db"))
    await store.open()
    yield store
    await store.close()


async def new_device(store: Store) -> tuple[VisitorRecord, PersonRecord]:
    """A site with one anonymous person and its device ``v1``, written in one unit."""

    async def unit(q: Queries) -> tuple[VisitorRecord, PersonRecord]:
        site = await q.insert_site("s", "S", [], "", 0.0)
        person = await q.insert_person(site, 0.0)
        visitor = VisitorRecord("v1", site, person.id, 1, "desktop", "Chrome", 0.0, 0.0)
        await q.insert_visitor(visitor)
        return visitor, person

    return await store.write(unit)
