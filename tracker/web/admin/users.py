"""/admin/users (admin): list, create with a one-time setup link, change role and routing owner,
disable and enable, reset links — through ``services.console_users``, as ``tracker users`` does.

A one-time link is a secret: it is shown in the answer to the POST that made it, once, and
never put in a URL or stored (only its nonce is).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracker.domain.roles import USER_ROLES
from tracker.services.console_users import ConsoleUserError
from tracker.web.admin.pages import show_page
from tracker.web.admin.session import Visit, console, requires

USERS = "/admin/users"


def _actor(visit: Visit) -> str:
    return f"user:{visit.session.user.id}"


def _link(request: Request, token: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/admin/setup?t={token}"


async def _listing(
    request: Request, visit: Visit, status: int = 200, *, new: dict[str, str] | None = None, **context: Any
) -> Response:
    users = await console(request).console_users.users()
    return show_page(
        request,
        visit,
        "users.html",
        status,
        users=users,
        roles=USER_ROLES,
        new=new or {"email": "", "role": "sales", "owner": ""},
        errors=context.pop("errors", {}),
        row=context.pop("row", None),
        **context,
    )


@requires("users.manage")
async def users_page(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    return await _listing(request, visit)


@requires("users.manage")
async def create_user(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    new = {name: form.get(name, "") for name in ("email", "role", "owner")}
    users = console(request).console_users
    now = console(request).runtime.clock()
    try:
        user = await users.create_user(new["email"], new["role"], now, owner=new["owner"], actor=_actor(visit))
        token = await users.password_link(user.email, now)
    except ConsoleUserError as exc:
        return await _listing(request, visit, 400, new=new, errors={exc.field or "email": exc.message})
    return await _listing(request, visit, link={"email": user.email, "url": _link(request, token)})


@requires("users.manage")
async def change_user(request: Request, visit: Visit, form: dict[str, str]) -> Response:
    """One row's form: role and owner, or a button (disable, enable, reset link)."""
    email, action = form.get("email", ""), form.get("action", "save")
    the_console = console(request)
    now, actor = the_console.runtime.clock(), _actor(visit)
    try:
        if action == "disable":
            await the_console.console_users.disable(email, now=now, actor=actor)
        elif action == "enable":
            await the_console.console_users.enable(email, now=now, actor=actor)
        elif action == "reset":
            token = await the_console.console_users.password_link(email, now, actor=actor)
            return await _listing(request, visit, link={"email": email, "url": _link(request, token)})
        else:
            await the_console.console_users.set_role(
                email, form.get("role", ""), form.get("owner"), now=now, actor=actor
            )
    except ConsoleUserError as exc:
        row = {"email": email, "action": action, "error": exc.message}
        if action == "save":  # what they chose is shown again; a button's row shows the user as stored
            row.update(role=form.get("role", ""), owner=form.get("owner", ""))
        return await _listing(request, visit, 400, row=row)
    return RedirectResponse(USERS, status_code=303)
