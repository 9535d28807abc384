"""/admin/privacy (admin): find a person of a site by e-mail, user id or lead id; download
everything held about them (right of access) and erase them (after a confirmation) — through
``services.privacy``, as ``/api/people``, and audited the same way."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.people import PersonRecord
from tracker.domain.sites import Site
from tracker.errors import HTTPError
from tracker.services import privacy
from tracker.services.privacy import PersonRef
from tracker.web.admin import i18n
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.render import reader
from tracker.web.admin.session import Visit, requires
from tracker.web.auth import console_site
from tracker.web.leads import export_body, person_ref

WAYS = ("email", "user_id", "id")
NOBODY = i18n.N_("Nobody on this site matches.")
CONFIRM = i18n.N_("Tick the box to confirm: erasure cannot be undone.")


def _say(request: Request, visit: Visit, message: str) -> str:
    """``message`` in the reader's language (plain text: the template escapes it)."""
    return i18n.gettext(reader(request, visit)[0], message)


def _ref(by: str, value: str) -> PersonRef:
    value = value.strip()
    return person_ref(
        value if by == "id" else None, value if by == "email" else None, value if by == "user_id" else None
    )


async def _page_for(
    request: Request, visit: Visit, values: dict[str, str], status: int = 200, **context: Any
) -> Response:
    return show_page(request, visit, "privacy.html", status, values=values, ways=WAYS, **context)


async def _find(request: Request, site: Site, ref: PersonRef) -> PersonRecord | None:
    return await runtime_of(request).store.read(lambda q: privacy.find_person(q, site.id, ref))


async def _target(request: Request, visit: Visit, values: dict[str, str]) -> tuple[Site, PersonRef] | Response:
    """The site and the person the form names, or the page saying what is wrong with them."""
    try:
        return console_site(runtime_of(request), values["site"] or None), _ref(values["by"], values["value"])
    except HTTPError as exc:
        return await _page_for(request, visit, values, 400, errors={"value": exc.message})


def _values(source: Any) -> dict[str, str]:
    return {"site": source.get("site", ""), "by": source.get("by", "email"), "value": source.get("value", "")}


@requires("privacy.erase")
async def privacy_page(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    values = _values(request.query_params)
    if not values["value"]:
        return await _page_for(request, visit, values)
    target = await _target(request, visit, values)
    if isinstance(target, Response):
        return target
    site, ref = target
    person = await _find(request, site, ref)
    if person is None:
        return await _page_for(request, visit, values, 404, errors={"value": _say(request, visit, NOBODY)})
    return await _page_for(request, visit, values, person=person, site=site)


@requires("privacy.erase")
async def download(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """Everything held about the person, as the API's JSON, to save (audited as an export)."""
    runtime, values = runtime_of(request), _values(form)
    target = await _target(request, visit, values)
    if isinstance(target, Response):
        return target
    site, ref = target
    now = runtime.clock()
    actor = f"user:{visit.session.user.id}"
    found = await privacy.export_person(runtime.store, site.id, ref, actor=actor, now=now)
    if found is None:
        return await _page_for(request, visit, values, 404, errors={"value": _say(request, visit, NOBODY)})
    body = orjson.dumps(export_body(site, found, now), option=orjson.OPT_INDENT_2)
    filename = f"person-{site.key}-{found.person.id}.json"
    return Response(
        body,
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"},
    )


@requires("privacy.erase")
async def erase(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """Erase the person and everything pointing at them; the box "I understand" must be ticked."""
    runtime, values = runtime_of(request), _values(form)
    target = await _target(request, visit, values)
    if isinstance(target, Response):
        return target
    site, ref = target
    if form.get("confirm") != "yes":
        person = await _find(request, site, ref)
        errors = {"confirm": _say(request, visit, CONFIRM)}
        return await _page_for(request, visit, values, 400, person=person, site=site, errors=errors)
    actor = f"user:{visit.session.user.id}"
    erased = await privacy.erase_person(runtime.store, site.id, ref, actor=actor, now=runtime.clock())
    if erased is None:
        return await _page_for(request, visit, values, 404, errors={"value": _say(request, visit, NOBODY)})
    return RedirectResponse(f"/admin/privacy?site={site.key}&erased={erased.person_id}", status_code=303)
