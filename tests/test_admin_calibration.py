"""The calibration page /admin/reports (tracker.web.admin.calibration): read by sales and marketing,
in two languages; its CSV links work with the session; a bad parameter gets a page naming it."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest

from tracker.services import calibration_apart

from .conftest import Server
from .test_admin import session_of
from .test_admin_dashboard import figure
from .test_calibration import GRADED, calibration_history

PERIOD = {"since": "2026-01-01", "until": "2026-01-21", "width": "5"}


async def test_sales_reads_the_calibration_page_and_its_csv(server: Server) -> None:
    # Every role's access is walked by tests/test_admin.py; a sign-in costs a password hash, so one role here.
    await calibration_history(server)
    headers = await session_of(server, "sales")
    page = await server.http.get("/admin/reports", params=PERIOD, headers=headers)
    assert page.status_code == 200, page.text
    text = page.text
    assert (figure(text, "leads"), figure(text, "converted")) == ("7", "3")
    assert 'data-verdict="unclear"' in text
    assert '<tr data-band="10.0">' in text and 'data-behaviour="rule:wp-c"' in text
    assert 'data-histogram="fit"' in text and 'data-timing="mql"' in text
    assert '<a href="/admin/reports">Reports</a>' in text  # in the navigation
    assert "calibration-grades" not in text  # the programme declares no grade
    link = html.unescape(re.findall(r'href="(/api/reports/behaviours\.csv[^"]*)"', text)[0])
    # This very report's period, to the second (the form shows days): a large site's download is the report kept.
    assert "since=1767225600&until=1768953600&" in link
    download = await server.http.get(link, headers=headers)
    assert download.status_code == 200 and "wp-c" in download.text


async def test_the_page_in_french_with_more_converting_kinds(server: Server) -> None:
    await server.load_programme(GRADED)
    await calibration_history(server)
    headers = {**await session_of(server, "marketing"), "accept-language": "fr"}
    query = [*PERIOD.items(), ("converting", "won"), ("converting", "meeting")]
    page = await server.http.get("/admin/reports", params=query, headers=headers)
    assert page.status_code == 200
    assert figure(page.text, "converted") == "4"
    assert "Rapports de calibration" in page.text and "les intervalles se chevauchent" in page.text
    assert 'value="meeting" checked' in page.text
    # ana, bruno (won) and chloe (lost) are C1; gina (won) and david C2; emma (meeting) and felix C3.
    assert "Conversion par grade" in page.text and "fit × engagement" in page.text
    row = re.search(r'<tr data-grade="C1">(.*?)</tr>', page.text, re.S)
    assert row is not None and '<td class="num">3</td><td class="num">2</td>' in row.group(1)
    assert re.search(r'<tr data-grade="C3">.*?<td class="num">2</td><td class="num">1</td>', page.text, re.S)


async def test_a_bad_parameter_gets_a_page_naming_it(server: Server) -> None:
    headers = await session_of(server, "sales")
    page = await server.http.get("/admin/reports", params={"width": "-2"}, headers=headers)
    assert page.status_code == 400 and "width must be from" in page.text


async def test_a_report_whose_process_died_gets_a_page_saying_so(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def died(*args: object, name: str) -> int:
        return 1

    monkeypatch.setattr(calibration_apart, "run_apart", died)
    settings = dataclasses.replace(server.runtime.settings, reports_apart_people=0)
    monkeypatch.setattr(server.runtime, "settings", settings)
    headers = await session_of(server, "sales")
    page = await server.http.get("/admin/reports", params=PERIOD, headers=headers)
    assert page.status_code == 500 and "ended with code 1" in page.text and "<html" in page.text
