"""The console's lead page, ``/admin/leads/{id}``: one lead understood in ten seconds, and what sales does with it.

It reads the API's story (``services.leads.lead_story``) and pages the timeline by visit
(``services.leads.visit_page``); recording an outcome and reassigning call the services the
API calls (``services.outcomes.record_outcome``, ``services.handoff.reassign``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.outcomes import KINDS, OutcomeError, check_outcome
from tracker.domain.programme.sales_holdout import HELD_OUT
from tracker.domain.score_chart import score_chart
from tracker.domain.scoring import DECAY_RULE_ID, OUTCOME_RULE_PREFIX
from tracker.domain.sites import Site
from tracker.errors import HTTPError
from tracker.services.handoff import reassign as reassign_lead
from tracker.services.leads import decode_visit_cursor, encode_visit_cursor, lead_story, visit_page
from tracker.services.outcomes import record_outcome
from tracker.store import Queries
from tracker.web.admin.i18n import gettext
from tracker.web.admin.leads import words
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.render import reader
from tracker.web.admin.session import Visit, requires
from tracker.web.params import int_param

# Ledger rows shown in words, newest first; the chart draws them all, the API lists them all.
LEDGER_SHOWN = 100
# What the page's two forms were sent with, and their errors by field (empty: nothing sent).
FORMS = ("outcome_form", "outcome_errors", "reassign_form", "reassign_errors")


def _seconds(text: str | None) -> float | None:
    """An ISO time of the story back to POSIX seconds, for the ``|moment`` filter."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def _requested(request: Request) -> int | None:
    try:
        return int_param(request.path_params["person_id"], "person_id")
    except HTTPError:
        return None


async def _view(request: Request, requested: int | None, older: str | None) -> dict[str, Any] | None:
    """What the lead page shows, or None when there is no such lead on any site."""
    runtime = runtime_of(request)
    now = runtime.clock()
    before = decode_visit_cursor(older) if older else None

    async def read(q: Queries) -> dict[str, Any] | None:
        site = await _site_in(q, request, requested) if requested is not None else None
        if site is None or requested is None:
            return None
        story = await lead_story(q, site, requested, now, timeline=False)
        if story is None:
            return None
        visits, following = await visit_page(q, story["id"], before)
        return {"site": site, "lead": story, "visits": visits, "older": following}

    found = await runtime.store.read(read)
    if found is None:
        return None
    site: Site = found["site"]
    story = found["lead"]
    labels = {rule.id: rule.label for rule in site.programme.scoring.rules}
    ledger = [{**row, "ts": _seconds(row["ts"])} for row in story["ledger"]]
    return {
        **found,
        "now": now,
        "older_url": f"?older={encode_visit_cursor(found['older'])}#timeline-h" if found["older"] else None,
        "newest_url": "?#timeline-h" if older else None,
        "charts": [
            score_chart(score, ledger, now)
            for score in site.programme.scoring.scores.values()
            if any(row["score"] == score.name for row in ledger)
        ],
        "unscored": [name for name in site.programme.scoring.scores if not any(r["score"] == name for r in ledger)],
        # The ledger in words: "+12 Livre blanc C · 3 nov. 10:42", newest first.
        "ledger_words": [
            {
                **row,
                "label": labels.get(row["rule_id"], row["rule_id"]),
                "decay": row["rule_id"] == DECAY_RULE_ID,
                # A score's on_outcome row: "Outcome: lost", in the reader's words.
                "outcome": row["rule_id"].removeprefix(OUTCOME_RULE_PREFIX)
                if row["rule_id"].startswith(OUTCOME_RULE_PREFIX)
                else None,
            }
            for row in ledger[:LEDGER_SHOWN]
        ],
        "ledger_hidden": max(0, len(ledger) - LEDGER_SHOWN),
        "stages": [{**row, "ts": _seconds(row["ts"])} for row in story["stages"]],
        "history": [{**row, "ts": _seconds(row["ts"])} for row in story["profile_history"]],
        "routing_since": _seconds(story["routing"]["assigned_at"]),
        "routes": site.programme.routes,
        "kinds": KINDS,
        "dates": {key: _seconds(story[key]) for key in ("created_at", "identified_at", "last_seen_at")},
    }


async def _show(request: Request, visit: Visit, requested: int | None, status: int = 200, **forms: Any) -> Response:
    language, _ = reader(request, visit)
    try:
        view = await _view(request, requested, request.query_params.get("older"))
    except HTTPError as exc:
        title = gettext(language, "Cannot show this lead")
        return show_page(request, visit, "error.html", exc.status, title=title, message=exc.message)
    if view is None:
        title, message = gettext(language, "No such lead"), gettext(language, "This lead does not exist (any more).")
        return show_page(request, visit, "error.html", 404, title=title, message=message)
    forms = {name: forms.get(name, {}) for name in FORMS}
    return show_page(request, visit, "lead.html", status, **view, **forms, words=words(language), held_out=HELD_OUT)


@requires("leads.read")
async def lead(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    return await _show(request, visit, _requested(request))


@requires("leads.outcome")
async def outcome(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """Record an outcome; a bad one comes back with what was typed and the error beside its field."""
    runtime = runtime_of(request)
    requested = _requested(request)
    try:
        recorded = check_outcome({key: form.get(key) for key in ("kind", "value", "reason", "note")})
    except OutcomeError as exc:
        return await _show(request, visit, requested, 400, outcome_form=form, outcome_errors={exc.field: exc.message})
    site = await _site_of(request, requested)
    done = (
        await record_outcome(
            runtime.store,
            site,
            requested,
            recorded,
            actor=f"user:{visit.session.user.id}",
            now=runtime.clock(),
        )
        if site is not None and requested is not None
        else None
    )
    if done is None:
        return await _show(request, visit, None)
    return RedirectResponse(f"/admin/leads/{done['id']}#timeline-h", status_code=303)


@requires("leads.reassign")
async def reassign(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """Hand the lead to another queue (and owner) of the programme's routes, unless it moved meanwhile."""
    runtime = runtime_of(request)
    requested = _requested(request)
    site = await _site_of(request, requested)
    if site is None or requested is None:
        return await _show(request, visit, None)
    expected = (form.get("seen_queue") or None, form.get("seen_owner") or None)
    now = runtime.clock()

    async def unit(q: Queries) -> int | None:
        person_id = await q.resolve_person_id(requested)
        person = await q.person(person_id, for_update=True) if person_id is not None else None
        if person is None or person.site_id != site.id:
            return None
        await reassign_lead(
            q,
            site,
            person,
            route_id=form.get("route", ""),
            owner=form.get("owner") or None,
            expected=expected,
            actor=f"user:{visit.session.user.id}",
            now=now,
        )
        return person.id

    try:
        person_id = await runtime.store.write(unit)
    except HTTPError as exc:
        errors = {exc.field or "route": exc.message}
        return await _show(request, visit, requested, exc.status, reassign_form=form, reassign_errors=errors)
    if person_id is None:
        return await _show(request, visit, None)
    return RedirectResponse(f"/admin/leads/{person_id}#routing-h", status_code=303)


async def _site_in(q: Queries, request: Request, requested: int) -> Site | None:
    """The site of the lead ``requested`` names (a merged-away id resolves), None if there is none."""
    resolved = await q.resolve_person_id(requested)
    person = await q.person(resolved) if resolved is not None else None
    return runtime_of(request).sites.by_id(person.site_id) if person is not None else None


async def _site_of(request: Request, requested: int | None) -> Site | None:
    if requested is None:
        return None
    return await runtime_of(request).store.read(lambda q: _site_in(q, request, requested))
