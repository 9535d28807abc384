"""Templates under templates/admin/, rendered with autoescaping, and the console's headers."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from tracker.assets import asset_root
from tracker.domain.roles import may

# No inline script or style anywhere in the console: what a visitor typed can never run.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(asset_root() / "templates" / "admin"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(request: Request, template: str, context: Mapping[str, Any], status: int = 200) -> Response:
    visit = context.get("visit")
    role = visit.role if visit is not None else None
    # What the signed-in role may open: the navigation shows only that.
    defaults = {"request": request, "may": lambda permission: role is not None and may(role, permission)}
    page = environment().get_template(template).render({**defaults, **context})
    return HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)


def stylesheet() -> bytes:
    return (asset_root() / "templates" / "admin" / "console.css").read_bytes()
