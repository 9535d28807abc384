"""The floor: the cheapest Starlette endpoint, served exactly like tracker.

It reads the whole body and answers a small JSON document, so it pays for
everything tracker cannot avoid (uvicorn, httptools, Starlette routing, the body,
a JSON response) and nothing tracker chooses to do.  ``bench.run`` serves it with
the same uvicorn settings as ``tracker serve`` and reports every case as a ratio
to it.  One catch-all route, so the same request scripts hit it as hit tracker.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({"ok": True, "received": len(body)})


app = Starlette(routes=[Route("/{endpoint:path}", echo, methods=["POST"])])
