"""A large site's calibration report computed in a child process (services/calibration_apart.py): the same
report as in the server; only a site at the threshold leaves it, and its report is kept; a child that dies is a
500 naming it, and is not kept."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from tracker.domain.calibration.report import Options
from tracker.domain.sites import Site
from tracker.errors import ReportFailed
from tracker.services import apart, calibration_apart
from tracker.services.kept_reports import KeptReports
from tracker.services.runtime import Runtime

from .conftest import START, Server
from .test_calibration import DAY, calibration_history

OPTIONS = Options(START, START + 20 * DAY, "engagement", 2.0, ("won", "meeting"), 7 * DAY)


def demo(server: Server) -> Site:
    site = server.runtime.sites.get("demo")
    assert site is not None
    return site


def kept(server: Server) -> KeptReports:
    """A new keeper: nothing kept from an earlier ask."""
    return KeptReports(server.clock)


def apart_from(server: Server, people: int) -> Runtime:
    """The server's runtime with reports computed apart from ``people`` people."""
    settings = dataclasses.replace(server.runtime.settings, reports_apart_people=people)
    return dataclasses.replace(server.runtime, settings=settings)


async def test_a_child_process_gives_the_report_the_server_would(server: Server) -> None:
    await calibration_history(server)
    here = await calibration_apart.report_of(server.runtime, kept(server), demo(server), OPTIONS)
    apart = await calibration_apart.report_of(apart_from(server, 0), kept(server), demo(server), OPTIONS)
    assert here.leads == 7 and here.behaviours
    assert apart == here


async def test_only_a_site_at_the_threshold_is_reported_apart(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    people = len(await calibration_history(server)) + 1  # the leads and the anonymous visitor
    children: list[str] = []

    async def counted(target: Callable[..., None], args: tuple[Any, ...], *, name: str) -> int:
        children.append(name)
        return await apart.run_apart(target, args, name=name)

    monkeypatch.setattr(calibration_apart, "run_apart", counted)
    await calibration_apart.report_of(apart_from(server, people + 1), kept(server), demo(server), OPTIONS)
    assert children == []
    await calibration_apart.report_of(apart_from(server, people), kept(server), demo(server), OPTIONS)
    assert children == ["tracker-report-demo"]


async def test_a_child_that_dies_is_a_500_naming_its_exit_code(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    async def died(*args: object, name: str) -> int:
        return 1

    monkeypatch.setattr(calibration_apart, "run_apart", died)
    with pytest.raises(ReportFailed, match="ended with code 1"):
        await calibration_apart.report_of(apart_from(server, 0), kept(server), demo(server), OPTIONS)


async def test_a_large_sites_report_is_computed_once_for_everyone_asking_the_same(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = len(await calibration_history(server)) + 1
    children: list[str] = []

    async def counted(target: Callable[..., None], args: tuple[Any, ...], *, name: str) -> int:
        children.append(name)
        return await apart.run_apart(target, args, name=name)

    monkeypatch.setattr(calibration_apart, "run_apart", counted)
    keeper = kept(server)
    large, small = apart_from(server, people), apart_from(server, people + 1)
    first, second = await asyncio.gather(
        *(calibration_apart.report_of(large, keeper, demo(server), OPTIONS) for _ in range(2))
    )
    assert first == second and children == ["tracker-report-demo"]
    later = dataclasses.replace(OPTIONS, width=3.0)  # another question
    await calibration_apart.report_of(large, keeper, demo(server), later)
    assert len(children) == 2
    await calibration_apart.report_of(large, keeper, demo(server), OPTIONS)
    assert len(children) == 2  # kept
    # A small site's report costs less than keeping it would save: computed each time, in the server.
    await calibration_apart.report_of(small, keeper, demo(server), dataclasses.replace(OPTIONS, width=4.0))
    assert len(children) == 2


async def test_a_failed_report_is_asked_again(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    codes = [1, 0]
    real = apart.run_apart

    async def once_dead(target: Callable[..., None], args: tuple[Any, ...], *, name: str) -> int:
        return 1 if codes.pop(0) else await real(target, args, name=name)

    monkeypatch.setattr(calibration_apart, "run_apart", once_dead)
    await calibration_history(server)
    keeper = kept(server)
    with pytest.raises(ReportFailed):
        await calibration_apart.report_of(apart_from(server, 0), keeper, demo(server), OPTIONS)
    report = await calibration_apart.report_of(apart_from(server, 0), keeper, demo(server), OPTIONS)
    assert report.leads == 7 and codes == []
