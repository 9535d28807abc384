"""The console's re-scoring (web/admin/rescore.py): a rescore started from the version page with its
progress, a second start refused by name, and the lead page's ledger saying which version re-scored it."""

from __future__ import annotations

import asyncio

from tracker.services import rescore

from .conftest import Server
from .rescore_history import DRAFT, plant
from .test_admin_programme import marketing, post, text_of


async def test_a_rescore_started_from_the_console_runs_to_the_end(server: Server) -> None:
    ids = await plant(server)
    headers, csrf = await marketing(server)
    await post(server, "/admin/programme/edit/toml", headers, csrf, source=DRAFT)
    published = await post(server, "/admin/programme/publish", headers, csrf, source=DRAFT, comment="B is worth more")
    version = await server.http.get(published.headers["location"], headers=headers)
    assert "Re-score history with version 2" in version.text
    started = await post(server, "/admin/programme/rescore", headers, csrf)
    assert started.status_code == 303
    for _ in range(100):
        progress = await server.http.get("/admin/programme/rescore/progress?site=demo", headers=headers)
        if "hx-trigger" not in progress.text:
            break
        await asyncio.sleep(0.01)
    assert 'id="rescore-status">Done' in progress.text and "3 of 3 people" in text_of(progress)
    lead = await server.http.get(f"/admin/leads/{ids['elodie']}", headers=headers)
    assert "rescored by version 2" in lead.text and "re-scored (rescore v2)" in lead.text


async def test_a_second_start_is_refused_naming_the_running_job(server: Server) -> None:
    await plant(server)
    job = await rescore.start(server.runtime.store, "demo", author="amelie@acme.fr", now=server.clock())
    headers, csrf = await marketing(server)
    page = await server.http.get("/admin/programme/rescore?site=demo", headers=headers)
    assert 'hx-get="/admin/programme/rescore/progress?site=demo"' in page.text and "<noscript>" in page.text
    refused = await post(server, "/admin/programme/rescore", headers, csrf)
    assert refused.status_code == 409
    assert f"Job {job.id} with version 1, started by amelie@acme.fr" in text_of(refused)
    # Its process died: a minute later the page says so and offers to resume it.
    server.clock.advance(rescore.STALLED)
    stalled = await server.http.get("/admin/programme/rescore?site=demo", headers=headers)
    assert "Interrupted: start it again to resume." in stalled.text and "hx-trigger" not in stalled.text
    assert "Re-score history with version 1" in stalled.text
