"""A site's settings as one form (services/site_settings.py): origins checked, every bad field named,
nothing written on an error, and two changes racing end as if one ran after the other."""

from __future__ import annotations

import asyncio

import pytest

from tracker.services.site_settings import SiteChange, SiteErrors, check_origin, save_settings

from .conftest import Server
from .test_admin_users import warm_pool


@pytest.mark.parametrize(
    ("raw", "origin"),
    [("https://WWW.Acme.fr/", "https://www.acme.fr"), ("http://localhost:8000", "http://localhost:8000"), ("*", "*")],
)
def test_an_origin_is_scheme_and_host(raw: str, origin: str) -> None:
    assert check_origin(raw) == origin


@pytest.mark.parametrize("raw", ["www.acme.fr", "ftp://acme.fr", "https://acme.fr/shop", "https://acme.fr/?q=1", ""])
def test_anything_else_is_no_origin(raw: str) -> None:
    with pytest.raises(ValueError, match="is no origin"):
        check_origin(raw)


async def test_every_bad_field_is_named_and_nothing_is_written(server: Server) -> None:
    change = SiteChange(name="", origins=["nope"], privacy={"ip": "keep", "dnt": "honour"}, internal=["10.0.0.0/33"])
    with pytest.raises(SiteErrors) as caught:
        await save_settings(server.runtime.store, "demo", change, create=False, actor="t", now=server.clock())
    assert set(caught.value.errors) == {"name", "origins", "ip", "internal"}
    assert await server.runtime.store.read(lambda q: q.audit_entries(1, 5)) == []


async def test_two_changes_at_once_both_land(server: Server) -> None:
    store = server.runtime.store
    await warm_pool(server)
    for round_ in range(3):
        ranges = [f"10.{round_}.0.0/16"]
        await asyncio.gather(
            save_settings(store, "demo", SiteChange(privacy={"ip": "truncate"}), create=False, actor="a", now=1.0),
            save_settings(store, "demo", SiteChange(internal=ranges), create=False, actor="b", now=1.0),
        )
        site = await store.read(lambda q: q.site_by_key("demo"))
        assert site is not None and site.settings["ip"] == "truncate" and site.settings["internal_ips"] == ranges
        await save_settings(store, "demo", SiteChange(privacy={"ip": "drop"}), create=False, actor="a", now=1.0)
