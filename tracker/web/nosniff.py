"""``X-Content-Type-Options: nosniff`` on every response, errors included.

Without it a browser may guess a type other than the one declared, e.g. run as script a
JSON error that echoes part of a request.  A pure ASGI wrapper around the whole app (so
outside Starlette's ServerErrorMiddleware, which sends the 500s itself): it only appends
one header to each response start, with none of BaseHTTPMiddleware's per-request tasks.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = (b"x-content-type-options", b"nosniff")


class NoSniff:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), HEADER]
            await send(message)

        await self.app(scope, receive, send_nosniff)
