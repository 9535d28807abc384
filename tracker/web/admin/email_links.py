"""/admin/email-links (marketing): a signed click link and its open pixel for one known person,
for a message written by hand; ``POST /api/email-links`` mints them for a whole mailing list."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tracker.domain.email_links import LinkError, campaign_name, click_url, open_url, safe_target
from tracker.services.email_links import mint
from tracker.web.admin.pages import runtime_of, show_page
from tracker.web.admin.session import Visit, requires
from tracker.web.email import signer_of

FIELDS = ("site", "campaign", "email", "url")


@requires("email.links")
async def form_page(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    return _page(request, visit, {"site": request.query_params.get("site", "")}, {})


@requires("email.links")
async def create(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    runtime = runtime_of(request)
    asked = {name: form.get(name, "").strip() for name in FIELDS}
    errors: dict[str, str] = {}
    site = runtime.sites.get(asked["site"])
    if site is None:
        errors["site"] = f"no site {asked['site']!r}"
    campaign = url = ""
    try:
        campaign = campaign_name(asked["campaign"])
    except LinkError as exc:
        errors["campaign"] = str(exc)
    try:
        url = safe_target(asked["url"])
    except LinkError as exc:
        errors["url"] = str(exc)
    if site is None or errors:
        return _page(request, visit, asked, errors, 400)
    minted, refused = await mint(
        runtime.store, signer_of(runtime), site, campaign, [url], [asked["email"]], runtime.clock()
    )
    if refused:
        return _page(request, visit, asked, {"email": refused[0].reason}, 400)
    base = str(request.base_url)
    made = {"click": click_url(base, minted[0].clicks[0]), "open": open_url(base, minted[0].open)}
    return _page(request, visit, asked, {}, made=made)


def _page(
    request: Request, visit: Visit, asked: dict[str, str], errors: dict[str, str], status: int = 200, **context: Any
) -> Response:
    return show_page(request, visit, "email_links.html", status, asked=asked, errors=errors, **context)
