"""A large site's calibration report computed in a child process (services/calibration_apart.py): the same
report as in the server; only a site at the threshold leaves it; a child that dies is a 500 naming it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from tracker.domain.calibration.report import Options
from tracker.domain.sites import Site
from tracker.errors import ReportFailed
from tracker.services import apart, calibration_apart
from tracker.services.runtime import Runtime

from .conftest import START, Server
from .test_calibration import DAY, calibration_history

OPTIONS = Options(START, START + 20 * DAY, "engagement", 2.0, ("won", "meeting"), 7 * DAY)


def demo(server: Server) -> Site:
    site = server.runtime.sites.get("demo")
    assert site is not None
    return site


def apart_from(server: Server, people: int) -> Runtime:
    """The server's runtime with reports computed apart from ``people`` people."""
    settings = dataclasses.replace(server.runtime.settings, reports_apart_people=people)
    return dataclasses.replace(server.runtime, settings=settings)


async def test_a_child_process_gives_the_report_the_server_would(server: Server) -> None:
    await calibration_history(server)
    here = await calibration_apart.report_of(server.runtime, demo(server), OPTIONS)
    apart = await calibration_apart.report_of(apart_from(server, 0), demo(server), OPTIONS)
    assert here.leads == 7 and here.behaviours
    assert apart == here


async def test_only_a_site_at_the_threshold_is_reported_apart(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    people = len(await calibration_history(server)) + 1  # the leads and the anonymous visitor
    children: list[str] = []

    async def counted(target: Callable[..., None], args: tuple[Any, ...], *, name: str) -> int:
        children.append(name)
        return await apart.run_apart(target, args, name=name)

    monkeypatch.setattr(calibration_apart, "run_apart", counted)
    await calibration_apart.report_of(apart_from(server, people + 1), demo(server), OPTIONS)
    assert children == []
    await calibration_apart.report_of(apart_from(server, people), demo(server), OPTIONS)
    assert children == ["tracker-report-demo"]


async def test_a_child_that_dies_is_a_500_naming_its_exit_code(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    async def died(*args: object, name: str) -> int:
        return 1

    monkeypatch.setattr(calibration_apart, "run_apart", died)
    with pytest.raises(ReportFailed, match="ended with code 1"):
        await calibration_apart.report_of(apart_from(server, 0), demo(server), OPTIONS)
