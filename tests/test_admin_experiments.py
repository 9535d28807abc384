"""A campaign's experiment on its console page: results per arm (table and chart), ending a variant and
keeping the winner (published, audited), refused when stale, in French."""

from __future__ import annotations

import html
import re

import pytest

from tracker.domain.programme.campaign_edit import campaign_tables

from .conftest import BASE, Server
from .test_admin_campaigns import editor, marketer, post, source_of
from .test_services_experiments import PROGRAMME, experiment, person_id

pytestmark = pytest.mark.asyncio


async def populate(server: Server, people: int = 6) -> None:
    """``people`` visitors meet the campaign; those shown variant b convert."""
    await server.load_programme(PROGRAMME)
    for _ in range(people):
        beacon = server.beacon()
        await beacon.page("/demo/")
        if experiment(server).arm_of("offer", await person_id(server, beacon)).name == "b":
            await beacon.send({"type": "conversion", "url": BASE + "/demo/", "props": {"campaign": "offer"}})


def row_of(page: str, label: str) -> list[str]:
    """The cells of the experiment table's row for arm ``label``, as text."""
    table = page[
        page.index('class="experiment-table"') : page.index("</table>", page.index('class="experiment-table"'))
    ]
    row = re.search(rf"<tr>\s*<th scope=\"row\">{re.escape(label)}</th>(.*?)</tr>", table, re.S)
    assert row is not None, label
    return [
        html.unescape(re.sub(r"<[^>]+>|\s+", " ", cell)).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    ]


def base_version(page: str) -> str:
    """The programme version the experiment's buttons are based on."""
    found = re.search(r'name="base_version" value="(\d+)"', page[page.index('id="experiment"') :])
    assert found is not None
    return found.group(1)


async def test_the_campaign_page_shows_each_arm_with_its_interval_and_chart(server: Server) -> None:
    await populate(server)
    headers, _ = await marketer(server)
    page = (await server.http.get("/admin/campaigns/offer", headers=headers)).text
    report = await server.api("/api/campaigns/offer/experiment", role="marketing")
    arms = {arm["name"]: arm for arm in report["arms"]}
    control = row_of(page, "Control (held out)")
    b = row_of(page, "b")
    assert control[:3] == ["50 %", str(arms["control"]["people"]), "0"]
    assert b[:3] == ["50 %", str(arms["b"]["people"]), str(arms["b"]["people"])]
    assert b[3].startswith("100 % (") and control[4] == "—"
    uplift = f"{round(100 * arms['b']['uplift'], 1):g}"
    assert b[4].startswith(uplift)
    # The chart draws the same numbers, each bar titled with them.
    assert 'class="experiment-chart"' in page and "<title>b: 100 % (" in page
    assert ">Keep for everybody</button>" in page and ">End</button>" in page


async def test_saving_the_campaign_in_the_editor_keeps_its_experiment(server: Server) -> None:
    await populate(server, people=1)
    headers, csrf = await marketer(server)
    values = await editor(server, headers, "offer")
    saved = await post(server, headers, "/admin/campaigns/offer", {**values, "title": "Nouveau", "csrf": csrf})
    assert saved.status_code == 303, saved.text
    table = campaign_tables(source_of(server))["offer"]
    assert table["title"] == "Nouveau" and table["experiment"]["control"] == 50


async def test_the_list_says_which_campaigns_run_an_experiment(server: Server) -> None:
    await server.load_programme(PROGRAMME)
    headers, _ = await marketer(server)
    page = (await server.http.get("/admin/campaigns", headers=headers)).text
    assert (
        'href="/admin/campaigns/offer?site=demo#experiment">experiment running</a>' in page
        and 'class="experiment-tag"' in page
    )


async def test_a_campaign_without_experiment_shows_none(server: Server) -> None:
    headers, _ = await marketer(server)
    page = (await server.http.get("/admin/campaigns/sales-popup", headers=headers)).text
    assert 'id="experiment"' not in page


async def test_keeping_the_winner_publishes_it_and_the_results_stay(server: Server) -> None:
    await populate(server)
    headers, csrf = await marketer(server)
    page = (await server.http.get("/admin/campaigns/offer", headers=headers)).text
    form = {"csrf": csrf, "site": "demo", "base_version": base_version(page), "variant": "b"}
    stale = await post(server, headers, "/admin/campaigns/offer/experiment/keep", {**form, "base_version": "0"})
    assert stale.status_code == 409 and "is no longer the latest" in html.unescape(stale.text)
    refused = await post(server, headers, "/admin/campaigns/offer/experiment/keep", {**form, "variant": "control"})
    assert refused.status_code == 400 and "not a variant" in html.unescape(refused.text)
    kept = await post(server, headers, "/admin/campaigns/offer/experiment/keep", form)
    assert kept.status_code == 303 and kept.headers["location"].startswith("/admin/campaigns/offer?site=demo")
    table = campaign_tables(source_of(server))["offer"]
    assert "experiment" not in table and table["text"] == "Livraison offerte ce mois-ci"
    after = (await server.http.get("/admin/campaigns/offer", headers=headers)).text
    # Ended: the results from the log are still shown, without decisions to take.
    assert "<small>ended</small>" in after and "Keep for everybody" not in after
    assert after.index('<th scope="row">Control (held out)</th>') < after.index('<th scope="row">b</th>')
    again = await post(
        server, headers, "/admin/campaigns/offer/experiment/end", {**form, "base_version": base_version(after)}
    )
    assert again.status_code == 409


async def test_ending_a_variant_gives_its_share_to_the_original(server: Server) -> None:
    await populate(server, people=2)
    headers, csrf = await marketer(server)
    page = (await server.http.get("/admin/campaigns/offer", headers=headers)).text
    form = {"csrf": csrf, "site": "demo", "base_version": base_version(page), "variant": "control"}
    assert (await post(server, headers, "/admin/campaigns/offer/experiment/end", form)).status_code == 303
    assert campaign_tables(source_of(server))["offer"]["experiment"] == {
        "goal": ["conversion", "won"],
        "variants": [{"id": "b", "share": 50, "text": "Livraison offerte ce mois-ci"}],
    }


async def test_the_experiment_speaks_french(server: Server) -> None:
    await populate(server, people=2)
    headers, _ = await marketer(server)
    page = (await server.http.get("/admin/campaigns/offer", headers={**headers, "accept-language": "fr"})).text
    assert "Expérience" in page and "Témoin (mis de côté)" in page and "Garder pour tous" in page
    assert "une conversion sur la campagne · un lead gagné" in html.unescape(page)
