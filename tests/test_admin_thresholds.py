"""The thresholds page (/admin/thresholds): who may propose, approve, reject and withdraw; CSRF;
errors next to their field with the input kept; the page after each step."""

from __future__ import annotations

import re
from datetime import UTC

import httpx
from starlette.requests import Request

from tracker.domain.programme.threshold_edit import NOT_A_NUMBER, NOTHING_TO_CHANGE, SQL_BELOW_MQL
from tracker.domain.roles import may
from tracker.services.thresholds import NOT_THE_PROPOSER, SIDE_APPROVED, pending
from tracker.web.admin.render import environment
from tracker.web.admin.session import Visit, current

from .conftest import Server
from .test_admin import csrf_of, session_of, sign_in, user

PAGE = "/admin/thresholds"


async def signed_in(server: Server, role: str, email: str | None = None) -> dict[str, str]:
    if email is None:
        return await session_of(server, role)
    await user(server, role, email)
    response = await sign_in(server, email)
    return {"cookie": response.headers["set-cookie"].split(";")[0]}


async def post(server: Server, path: str, headers: dict[str, str], **fields: str) -> httpx.Response:
    data = {"csrf": await csrf_of(server, headers), "site": "demo", **fields}
    return await server.http.post(path, data=data, headers=headers)


async def propose(server: Server, headers: dict[str, str], **fields: str) -> httpx.Response:
    form = {"score": "engagement", "mql": "", "sql": "14", "reason": "reps say 12 is too early", **fields}
    return await post(server, PAGE, headers, **form)


async def current_visit(server: Server, headers: dict[str, str]) -> Visit:
    cookie = headers["cookie"].encode()
    scope = {"type": "http", "headers": [(b"cookie", cookie)], "app": server.app}
    visit = await current(Request(scope))
    assert visit is not None
    return visit


def proposal_ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<li class="proposal" id="proposal-(\d+)"', page)]


def in_force(page: str, level: str) -> str:
    found = re.search(rf'<tr data-score="engagement">.*?data-level="{level}">([^<]*)<', page)
    assert found, page
    return found.group(1)


async def test_marketing_proposes_and_sales_approves_on_the_page(server: Server) -> None:
    marketing = await session_of(server, "marketing")
    proposed = await propose(server, marketing)
    assert (proposed.status_code, proposed.headers["location"]) == (303, f"{PAGE}?site=demo&done=proposed#pending")
    page = (await server.http.get(PAGE, params={"site": "demo", "done": "proposed"}, headers=marketing)).text
    assert "Proposal recorded" in page and in_force(page, "sql") == "12"
    [proposal] = proposal_ids(page)
    assert 'data-side="marketing">approved by marketing@example.com<' in page
    assert 'data-side="sales">waiting<' in page
    assert f'action="/admin/thresholds/{proposal}/withdraw"' in page  # the proposer may take it back
    assert f'action="/admin/thresholds/{proposal}/approve"' not in page  # marketing approved already

    sales = await session_of(server, "sales")
    page = (await server.http.get(PAGE, headers=sales)).text
    assert f'action="/admin/thresholds/{proposal}/approve"' in page
    assert f'action="/admin/thresholds/{proposal}/withdraw"' not in page
    approved = await post(server, f"{PAGE}/{proposal}/approve", sales)
    assert (approved.status_code, approved.headers["location"]) == (303, f"{PAGE}?site=demo&done=applied#current")
    page = (await server.http.get(approved.headers["location"], headers=sales)).text
    assert "the new thresholds are active" in page and in_force(page, "sql") == "14"
    assert proposal_ids(page) == [] and 'data-status="applied"' in page
    assert "Applied (programme version" in page
    programme = (await server.http.get("/admin/programme", headers=sales)).text
    assert re.search(r"<th scope=\"row\">engagement</th><td class=\"num\">8</td><td class=\"num\">14</td>", programme)


async def test_an_admin_proposes_but_does_not_approve(server: Server) -> None:
    admin = await session_of(server, "admin")
    assert (await propose(server, admin)).status_code == 303
    page = (await server.http.get(PAGE, headers=admin)).text
    [proposal] = proposal_ids(page)
    assert "/approve" not in page and "/reject" not in page and "/withdraw" in page
    refused = await post(server, f"{PAGE}/{proposal}/approve", admin)
    assert refused.status_code == 403 and "Not allowed" in refused.text


async def test_errors_sit_next_to_their_field_with_the_input_kept(server: Server) -> None:
    marketing = await session_of(server, "marketing")
    page = await propose(server, marketing, mql="huit<b>", sql="7", reason="<script>x</script>")
    assert page.status_code == 400
    assert f'<span class="error" id="mql-error">{NOT_A_NUMBER}</span>' in page.text
    assert 'aria-describedby="mql-hint mql-error" aria-invalid="true"' in page.text
    assert 'value="huit&lt;b&gt;"' in page.text and 'value="7"' in page.text
    assert "&lt;script&gt;x&lt;/script&gt;</textarea>" in page.text and "<script>x" not in page.text
    below = await propose(server, marketing, mql="13", sql="")
    assert below.status_code == 400 and f'id="sql-error">{SQL_BELOW_MQL}<' in below.text
    same = await propose(server, marketing, sql="12")
    assert same.status_code == 400 and f'id="sql-error">{NOTHING_TO_CHANGE}<' in same.text
    assert await server.count("threshold_proposals") == 0


async def test_errors_in_french(server: Server) -> None:
    marketing = await session_of(server, "marketing")
    data = {"csrf": await csrf_of(server, marketing), "site": "demo", "score": "engagement", "sql": "x", "reason": "r"}
    page = await server.http.post(PAGE, data=data, headers={**marketing, "accept-language": "fr"})
    assert page.status_code == 400 and "Saisissez un nombre" in page.text and "Seuils en vigueur" in page.text
    assert 'role="alert"' not in page.text and "Content-Type" not in page.text  # no decision failed


async def test_proposing_needs_the_csrf_token(server: Server) -> None:
    marketing = await session_of(server, "marketing")
    form = {"site": "demo", "score": "engagement", "sql": "14", "reason": "why"}
    assert (await server.http.post(PAGE, data=form, headers=marketing)).status_code == 403
    forged = await server.http.post(PAGE, data={**form, "csrf": "forged"}, headers=marketing)
    assert forged.status_code == 403
    assert await server.count("threshold_proposals") == 0


async def test_reject_needs_a_reason_and_keeps_what_was_typed(server: Server) -> None:
    marketing = await session_of(server, "marketing")
    await propose(server, marketing)
    sales = await session_of(server, "sales")
    [proposal] = proposal_ids((await server.http.get(PAGE, headers=sales)).text)
    empty = await post(server, f"{PAGE}/{proposal}/reject", sales, reason="  ")
    assert empty.status_code == 400
    assert f'aria-invalid="true" aria-describedby="reject-{proposal}-error"' in empty.text
    rejected = await post(server, f"{PAGE}/{proposal}/reject", sales, reason="we'd lose <leads>")
    assert rejected.status_code == 303 and "done=rejected" in rejected.headers["location"]
    page = (await server.http.get(PAGE, headers=sales)).text
    assert 'data-status="rejected"' in page and "we&#39;d lose &lt;leads&gt;" in page
    again = await post(server, f"{PAGE}/{proposal}/approve", sales)
    assert again.status_code == 409 and "decided already" in again.text


async def test_only_the_proposer_withdraws_and_a_side_approves_once(server: Server) -> None:
    marketing = await session_of(server, "marketing")
    await propose(server, marketing)
    [proposal] = proposal_ids((await server.http.get(PAGE, headers=marketing)).text)
    twice = await post(server, f"{PAGE}/{proposal}/approve", marketing)
    assert twice.status_code == 409 and SIDE_APPROVED in twice.text
    other = await signed_in(server, "marketing", "other@example.com")
    refused = await post(server, f"{PAGE}/{proposal}/withdraw", other)
    assert refused.status_code == 403 and NOT_THE_PROPOSER in refused.text
    withdrawn = await post(server, f"{PAGE}/{proposal}/withdraw", marketing)
    assert withdrawn.status_code == 303
    assert 'data-status="withdrawn"' in (await server.http.get(PAGE, headers=marketing)).text


async def test_an_unknown_proposal_or_site(server: Server) -> None:
    sales = await session_of(server, "sales")
    missing = await post(server, f"{PAGE}/999/approve", sales)
    assert missing.status_code == 404 and "No such proposal." in missing.text
    for target in ("abc", "-1", "{proposal_id}"):
        assert (await post(server, f"{PAGE}/{target}/approve", sales)).status_code == 400
    assert (await server.http.get(PAGE, params={"site": "nope"}, headers=sales)).status_code == 404


async def test_the_dashboard_panel_needs_only_the_pending_proposals_and_the_site(server: Server) -> None:
    """What the dashboard includes: ``threshold_proposals.html`` with ``proposals`` and ``site``."""
    site = server.runtime.sites.get("demo")
    assert site is not None
    sales = await session_of(server, "sales")
    context = {"site": site, "visit": await current_visit(server, sales), "language": "en", "tz": UTC}
    context["may"] = lambda permission: may("sales", permission)
    panel = environment("en").get_template("threshold_proposals.html")
    assert panel.render(proposals=await pending(server.runtime.store, site.id), **context).strip() == ""
    await propose(server, await session_of(server, "marketing"))
    proposals = await pending(server.runtime.store, site.id)
    html = panel.render(proposals=proposals, **context)
    assert "Threshold changes waiting for a decision" in html and "reps say 12 is too early" in html
    assert f'action="/admin/thresholds/{proposals[0].id}/approve"' in html and 'data-side="sales">waiting<' in html
