"""E-mail links: ``GET /r/<token>`` (a click), ``GET /o/<token>.gif`` (an open pixel) and
``POST /api/email-links`` (mint them for a mailing list).

A click redirects (302) to the URL signed into its token, and only to it; an altered or expired
token records nothing and redirects to the site's home.  A genuine click also gives the browser
the person's visitor cookie (the beacon's), so what it browses next joins the person's history
(``services.email_links`` says when it does not).  The pixel is always a 1x1 GIF nobody caches.
"""

from __future__ import annotations

import base64
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.clock import iso
from tracker.domain.email_links import (
    LINK_SECONDS,
    EmailLinks,
    LinkError,
    campaign_name,
    click_url,
    open_url,
    safe_target,
)
from tracker.errors import BadRequest
from tracker.services.email_links import mint, record_click, record_open
from tracker.services.runtime import Runtime
from tracker.store import Queries
from tracker.web.auth import authenticate, site_of
from tracker.web.collect import COOKIE, COOKIE_MAX_AGE, read_body, visitor_cookie
from tracker.web.responses import json_response
from tracker.web.validation import parse_json

MAX_RECIPIENTS = 50_000
MAX_URLS = 50
# 50,000 addresses of 254 characters at most, quoted, and the rest of the body.
MAX_BODY = 14 * 1024 * 1024
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
# Every open must reach us: no browser, proxy or mail client may answer it from a cache.
NO_CACHE = {
    "cache-control": "no-store, no-cache, must-revalidate, max-age=0",
    "pragma": "no-cache",
    "expires": "0",
}


@cache
def links_for(secret: str) -> EmailLinks:
    return EmailLinks(secret)


def signer_of(runtime: Runtime) -> EmailLinks:
    return links_for(runtime.settings.signing_secret())


async def click(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    now = runtime.clock()
    address = runtime.guard.check_client(request, now)
    checked = signer_of(runtime).click(str(request.path_params["token"]), now)
    link = checked.link
    site = runtime.sites.by_id(checked.site_id) if checked.site_id is not None else None
    if link is None or site is None:
        return _home(runtime, site.home if site is not None else None)
    browser = runtime.tokens.verify(site.key, request.cookies.get(COOKIE))

    async def unit(q: Queries) -> str | None:
        return await record_click(
            q,
            site,
            link,
            browser=browser,
            user_agent=request.headers.get("user-agent", ""),
            address=address,
            now=now,
            make_visitor_id=runtime.new_visitor_id,
        )

    carried = await runtime.store.write(unit)
    response = RedirectResponse(link.url, status_code=302, headers=NO_CACHE)
    if carried is not None:
        response.headers.append(
            "set-cookie", visitor_cookie(request, runtime.tokens.sign(site.key, carried), COOKIE_MAX_AGE)
        )
    return response


async def pixel(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    now = runtime.clock()
    address = runtime.guard.check_client(request, now)
    link = signer_of(runtime).open(str(request.path_params["token"]), now).link
    site = runtime.sites.by_id(link.site_id) if link is not None else None
    if link is not None and site is not None:
        opened, user_agent = link, request.headers.get("user-agent", "")
        await runtime.store.write(
            lambda q: record_open(
                q, site, opened, user_agent=user_agent, address=address, now=now, make_visitor_id=runtime.new_visitor_id
            )
        )
    return Response(PIXEL, media_type="image/gif", headers=NO_CACHE)


async def create_links(request: Request) -> Response:
    """``POST /api/email-links``: click links and open pixels for a mailing list (marketing key)."""
    key = await authenticate(request, "marketing")
    runtime: Runtime = request.app.state.runtime
    site = site_of(runtime, key.site_id)
    now = runtime.clock()
    body = parse_json(await read_body(request, MAX_BODY))
    campaign, urls, recipients = _checked(body)
    minted, refused = await mint(runtime.store, signer_of(runtime), site, campaign, urls, recipients, now)
    base = str(request.base_url)
    return json_response(
        {
            "site": site.key,
            "campaign": campaign,
            "urls": urls,
            "expires_at": iso(now + LINK_SECONDS),
            "links": [
                {
                    "index": row.index,
                    "email": row.email,
                    "person_id": row.person_id,
                    "clicks": [click_url(base, token) for token in row.clicks],
                    "open": open_url(base, row.open),
                }
                for row in minted
            ],
            "refused": [
                {"index": row.index, "field": f"recipients[{row.index}]", "email": row.email, "reason": row.reason}
                for row in refused
            ],
        },
        201,
    )


def _checked(body: Any) -> tuple[str, list[str], list[Any]]:
    """campaign, urls and recipients of a request, or a 400 naming the first bad field."""
    if not isinstance(body, dict):
        raise BadRequest(
            'expected an object such as {"campaign": "...", "urls": [...], "recipients": [...]}', field="body"
        )
    try:
        campaign = campaign_name(body.get("campaign"))
    except LinkError as exc:
        raise BadRequest(str(exc), field="campaign") from None
    urls = body.get("urls")
    if not isinstance(urls, list) or not 1 <= len(urls) <= MAX_URLS:
        raise BadRequest(f"urls must be a list of 1 to {MAX_URLS} URLs", field="urls")
    checked: list[str] = []
    for index, url in enumerate(urls):
        try:
            checked.append(safe_target(url))
        except LinkError as exc:
            raise BadRequest(str(exc), field=f"urls[{index}]") from None
    recipients = body.get("recipients")
    if not isinstance(recipients, list) or not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise BadRequest(f"recipients must be a list of 1 to {MAX_RECIPIENTS} e-mail addresses", field="recipients")
    return campaign, checked, recipients


def _home(runtime: Runtime, home: str | None) -> Response:
    """A refused link goes home: its site's, else the first site's that has one; never anywhere else."""
    target = home or next((site.home for site in runtime.sites.all() if site.home), "")
    if not target:
        return Response("This link is no longer valid.", status_code=404, media_type="text/plain", headers=NO_CACHE)
    return RedirectResponse(target, status_code=302, headers=NO_CACHE)
