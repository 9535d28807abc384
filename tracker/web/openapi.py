"""``GET /api/openapi.json``: the OpenAPI 3.1 description of /collect and every /api and /v1 route.

Written out explicitly rather than generated: the document is a contract with the
customer's developers, and tests/test_openapi.py checks it against the route list
both ways, so neither can drift from the other.  Each audience's routes are built in
their own module (openapi_collect, openapi_sales, openapi_marketing, openapi_admin,
openapi_segment) from the pieces in openapi_parts; this one assembles them.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tracker.web.openapi_accounts import ACCOUNT_SCHEMAS, account_paths
from tracker.web.openapi_admin import privacy_paths, webhook_paths
from tracker.web.openapi_collect import COLLECT_SCHEMAS, collect_paths
from tracker.web.openapi_marketing import marketing_paths
from tracker.web.openapi_parts import SHARED_SCHEMAS, ok
from tracker.web.openapi_reports import report_paths
from tracker.web.openapi_sales import SALES_SCHEMAS, sales_paths
from tracker.web.openapi_segment import SEGMENT_CALLS, segment_paths
from tracker.web.responses import json_response

# SEGMENT_CALLS is re-exported: the fuzz tests build the /v1 paths from it, through this module.
__all__ = ["SEGMENT_CALLS", "document", "openapi"]

_SECURITY = {
    "apiKey": {"type": "http", "scheme": "bearer", "description": "`tracker keys create --role sales`"},
    "writeKey": {
        "type": "http",
        "scheme": "basic",
        "description": "an ingest key as the Basic user, empty password (`--role ingest`)",
    },
}


def document() -> dict[str, Any]:
    meta = {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "tags": ["meta"],
            "responses": ok({"type": "object"}),
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tracker",
            "version": "1",
            "description": "Anonymous-visitor tracking, lead scoring and on-site personalization. Every error is "
            "JSON with its HTTP status and names the field at fault.",
        },
        "paths": {
            **collect_paths(),
            **sales_paths(),
            **marketing_paths(),
            **privacy_paths(),
            **webhook_paths(),
            **report_paths(),
            "/api/openapi.json": meta,
            **segment_paths(),
            **account_paths(),
        },
        "components": {
            "schemas": {**SHARED_SCHEMAS, **SALES_SCHEMAS, **COLLECT_SCHEMAS, **ACCOUNT_SCHEMAS},
            "securitySchemes": _SECURITY,
        },
    }


async def openapi(request: Request) -> Response:
    return json_response(document())
