"""The floor: the cheapest Starlette endpoint, served exactly like tracker.

It reads the whole body and answers 204 No Content, so it pays for everything
tracker cannot avoid (uvicorn, httptools, Starlette routing, reading the body) and
nothing tracker chooses to do.  A JSON answer would cost the floor ~30 % of its
speed and flatter every ratio.  ``bench.run`` serves it with the same uvicorn
settings as ``tracker serve`` (one worker, or two against two tracker processes)
and alternates it with every case.  One catch-all route, so the same request
scripts hit it as hit tracker.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def sink(request: Request) -> Response:
    await request.body()
    return Response(status_code=204)


app = Starlette(routes=[Route("/{endpoint:path}", sink, methods=["POST"])])
