"""Who is signed in to the console: the ``tk_session`` cookie, the role matrix and CSRF.

- The cookie holds a random session id signed with the server secret (itsdangerous); the
  session itself is a row (``services.console_users``), so signing out or disabling a user ends it
  everywhere.  HttpOnly, SameSite=Lax, Secure when the request came over https, no Max-Age:
  the server decides when it ends.
- Every console handler is wrapped by ``requires(permission)``: an anonymous browser is sent
  to the sign-in page, a role the matrix does not list gets the 403 page, and a request that
  changes anything (any method but GET and HEAD) must carry the session's CSRF token.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote

from itsdangerous import BadSignature, Signer
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.roles import may
from tracker.services.abuse import Rate, TokenBuckets, client_address
from tracker.services.console_users import ConsoleUsers
from tracker.services.runtime import Runtime
from tracker.store import SessionRecord
from tracker.web.admin.render import render

COOKIE = "tk_session"
LOGIN = "/admin/login"
# A programme's whole TOML is posted by its editor and its import.
FORM_LIMIT = 512 * 1024
SAFE_METHODS = ("GET", "HEAD")
# Sign-in attempts: 5 per user then one a minute; 20 per address then one every 6 s.
USER_RATE = Rate(per_second=1 / 60, burst=5)
ADDRESS_RATE = Rate(per_second=1 / 6, burst=20)


class Console:
    """What the console's handlers share, kept on ``app.state.console``."""

    def __init__(self, runtime: Runtime) -> None:
        secret = runtime.settings.signing_secret()
        self.runtime = runtime
        self.console_users = ConsoleUsers(runtime.store, secret, hashing=runtime.settings.password_hashing)
        self.cookies = Signer(secret, salt="tracker.console.session")
        self.by_user = TokenBuckets(USER_RATE)
        self.by_address = TokenBuckets(ADDRESS_RATE)

    def throttled(self, request: Request, email: str) -> float:
        """Spend a sign-in attempt of the address and of the user: 0.0, or seconds to wait."""
        now = self.runtime.clock()
        address = client_address(request, self.runtime.settings.trusted_proxy)
        waits = (
            self.by_address.take(str(address) if address is not None else "unknown", now),
            self.by_user.take(email.strip().lower()[:320], now),
        )
        return max(waits)


def console(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


@dataclass(frozen=True, slots=True)
class Visit:
    """A console request by a signed-in user."""

    session: SessionRecord
    session_id: str

    @property
    def role(self) -> str:
        return self.session.user.role

    @property
    def csrf(self) -> str:
        return self.session.csrf


async def current(request: Request) -> Visit | None:
    """The signed-in user's visit, or None (no cookie, a forged one, or a session that ended)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    the_console = console(request)
    try:
        session_id = the_console.cookies.unsign(raw).decode()
    except (BadSignature, UnicodeDecodeError):
        return None
    session = await the_console.console_users.session(session_id, the_console.runtime.clock())
    return Visit(session, session_id) if session is not None else None


def set_cookie(request: Request, response: Response, session_id: str) -> None:
    value = console(request).cookies.sign(session_id.encode()).decode()
    response.set_cookie(COOKIE, value, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")


def clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")


async def read_form(request: Request) -> dict[str, str]:
    """A form body as a dict (the last value of a repeated name).

    ``application/x-www-form-urlencoded``, or ``multipart/form-data`` for a form that uploads a
    text file (the programme's TOML import): a file's field holds its text.
    """
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            return {}
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("multipart/form-data"):
            return _multipart(body, content_type)
        text = body.decode()
    except UnicodeDecodeError:
        return {}
    return dict(parse_qsl(text, keep_blank_values=True))


def _multipart(body: bytes, content_type: str) -> dict[str, str]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, str] = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload.decode()
    return fields


def csrf_ok(visit: Visit, form: dict[str, str], request: Request) -> bool:
    sent = form.get("csrf") or request.headers.get("x-csrf-token", "")
    return bool(sent) and hmac.compare_digest(sent.encode(), visit.csrf.encode())


def forbidden(request: Request, visit: Visit | None, message: str) -> Response:
    return render(request, "error.html", {"visit": visit, "title": "Not allowed", "message": message}, 403)


class Handler(Protocol):
    permission: str

    async def __call__(self, request: Request) -> Response: ...


Page = Callable[[Request, Visit, dict[str, str]], Awaitable[Response]]


def requires(permission: str) -> Callable[[Page], Handler]:
    """Guard a console handler with the role matrix (and CSRF for state-changing methods).

    The handler receives the visit and, for a state-changing request, the parsed form.
    """

    def wrap(page: Page) -> Handler:
        @functools.wraps(page)
        async def handler(request: Request) -> Response:
            visit = await current(request)
            if visit is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"{LOGIN}?next={quote(target, safe='')}", status_code=303)
            if not may(visit.role, permission):
                return forbidden(request, visit, f"The {visit.role} role cannot open this page.")
            form: dict[str, str] = {}
            if request.method not in SAFE_METHODS:
                form = await read_form(request)
                if not csrf_ok(visit, form, request):
                    return forbidden(request, visit, "This form has expired. Go back, reload the page and try again.")
            return await page(request, visit, form)

        guarded: Any = handler
        guarded.permission = permission
        result: Handler = guarded
        return result

    return wrap
