"""The beacon's short way in: a route served past Starlette's middleware and router.

A ``/collect`` call spent about a tenth of its CPU in the layers every Starlette request
crosses before and after its handler: the error middleware, the exception middleware, the
router's match over the route list, ``request_response``'s wrappers, a ``send`` wrapped three
times.  Measured in-process on the same store, alternating 256-request batches: 0.938 of the
CPU per request through this path, returning and new visitors alike.  It does what those
layers do for such a route and nothing else: the handler gets the same ``Request``
(``request.app`` included), an exception is rendered by the app's own handler for its class
(``HTTPError`` → its status and JSON, any other → 500, then raised again as Starlette's error
middleware does, for the server's log), and the response carries
``X-Content-Type-Options: nosniff`` as every other one does.

A ``DirectRoute`` stays in the one route list like any ``Route`` (and is served by the router
if a request reaches it there, e.g. under a ``root_path``); ``DirectRoutes`` serves the exact
method and path of each ahead of the stack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tracker.web.nosniff import HEADER as NOSNIFF

Endpoint = Callable[[Request], Awaitable[Response]]
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


class DirectRoute(Route):
    """A route whose requests skip the middleware and the router (``DirectRoutes``)."""

    def __init__(self, path: str, endpoint: Endpoint, *, method: str) -> None:
        super().__init__(path, endpoint, methods=[method])
        self.method = method


class DirectRoutes:
    """Serve the ``DirectRoute``s of ``routes`` directly; hand every other request to ``app``."""

    def __init__(
        self, app: ASGIApp, routes: Sequence[BaseRoute], error_handlers: Mapping[type[Exception], ErrorHandler]
    ) -> None:
        self.app = app
        self.endpoints: dict[tuple[str, str], Endpoint] = {
            (route.method, route.path): route.endpoint for route in routes if isinstance(route, DirectRoute)
        }
        self.error_handlers = error_handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = None
        # Under a root_path the router strips it from the path: that rare setup takes the long way.
        if scope["type"] == "http" and not scope.get("root_path"):
            endpoint = self.endpoints.get((scope["method"], scope["path"]))
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        crash: Exception | None = None
        try:
            response = await endpoint(request)
        except Exception as exc:
            handler, precise = self._handler_of(exc)
            if handler is None:
                raise
            response = await handler(request, exc)
            crash = None if precise else exc
        response.raw_headers.append(NOSNIFF)
        await response(scope, receive, send)
        if crash is not None:
            raise crash

    def _handler_of(self, exc: Exception) -> tuple[ErrorHandler | None, bool]:
        """The app's handler for ``exc``'s class, and whether it is one more precise than the catch-all."""
        for cls in type(exc).__mro__:
            handler = self.error_handlers.get(cls)
            if handler is not None:
                return handler, cls is not Exception
        return None, False
