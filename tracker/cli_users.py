"""``tracker users``: console users from the command line (create with a one-time link, list,
role, disable, enable, reset-link; audited as "cli"), and what ``tracker serve`` says about the
console when it starts."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from tracker.config import Settings
from tracker.domain.clock import iso
from tracker.domain.roles import USER_ROLES
from tracker.services.console_users import ConsoleUserError, ConsoleUsers
from tracker.store import Store

T = TypeVar("T")
Option = Callable[[Any], Any]
WithStore = Callable[[Settings, Callable[[Store], Awaitable[Any]]], Any]


async def console_start(store: Store, secret: str) -> tuple[list[str], str | None]:
    """The sites' keys, and a first-admin link when nobody can sign in to the console yet."""
    sites = await store.read(lambda q: q.sites())
    return [site.key for site in sites], await ConsoleUsers(store, secret).first_admin_link(time.time())


def serve_banner(settings: Settings, base: str, demo: bool, with_store: WithStore) -> list[str]:
    """What ``tracker serve`` prints on start: where it listens, the console and its sites, a first-run link."""
    secret = settings.signing_secret()  # created here once, before the server's workers race for it
    keys, setup = with_store(settings, lambda store: console_start(store, secret))
    named = ", ".join(sorted({*keys, *(["demo"] if demo else [])})) or "none yet (tracker sites add KEY)"
    lines = [
        f"tracker on {base}/ (database {settings.database_url})" + (", demo at /demo/" if demo else ""),
        f"console at {base}/admin/ — sites: {named}",
    ]
    if setup is not None:
        lines.append(f"no console user yet: create the first admin within the hour at {base}/admin/setup?t={setup}")
    return lines


def _link_line(token: str, base: str) -> str:
    return f"{base.rstrip('/')}/admin/setup?t={token}"


def _or_exit(action: Callable[[Store], Awaitable[T]]) -> Callable[[Store], Awaitable[T]]:
    async def run(store: Store) -> T:
        try:
            return await action(store)
        except ConsoleUserError as exc:
            raise click.ClickException(exc.message) from None

    return run


def users_group(data_dir_option: Option, db_option: Option, _with_store: WithStore) -> click.Group:
    """The ``users`` command group, built with the CLI's shared options and store runner."""
    base_option = click.option(
        "--base-url", default="http://127.0.0.1:8000", show_default=True, help="Where the console is reached."
    )

    def with_users(data_dir: Path | None, db: str | None, action: Callable[[ConsoleUsers], Awaitable[T]]) -> T:
        """Run ``action`` on the console users of the store the options name; a refusal exits with its message."""
        settings = Settings.from_env(data_dir=data_dir, db=db)
        secret = settings.signing_secret()
        result: T = _with_store(settings, _or_exit(lambda store: action(ConsoleUsers(store, secret))))
        return result

    @click.group()
    def users() -> None:
        """Console users (sign-in at /admin/); passwords are set from one-time links."""

    @users.command("create")
    @click.argument("email")
    @click.option("--role", type=click.Choice(USER_ROLES), required=True)
    @base_option
    @data_dir_option
    @db_option
    def users_create(email: str, role: str, base_url: str, data_dir: Path | None, db: str | None) -> None:
        """Create a user; prints a one-time link (24 h) where they set their password."""

        async def run(users: ConsoleUsers) -> tuple[str, str]:
            user = await users.create_user(email, role, time.time())
            return user.email, await users.password_link(user.email, time.time())

        address, token = with_users(data_dir, db, run)
        click.echo(
            f"{role} user {address} created; send them this one-time link (valid 24 h) to set a password:", err=True
        )
        click.echo(_link_line(token, base_url))

    @users.command("list")
    @data_dir_option
    @db_option
    def users_list(data_dir: Path | None, db: str | None) -> None:
        """List users: e-mail, role, state, last sign-in."""
        for user in with_users(data_dir, db, lambda users: users.users()):
            state = "disabled" if user.disabled else ("active" if user.password_hash else "invited")
            last = iso(user.last_login_at) if user.last_login_at is not None else "never"
            click.echo(f"{user.email}\t{user.role}\t{state}\tlast sign-in {last}")

    @users.command("disable")
    @click.argument("email")
    @data_dir_option
    @db_option
    def users_disable(email: str, data_dir: Path | None, db: str | None) -> None:
        """Disable a user: their sessions end at once and they cannot sign in."""
        user = with_users(data_dir, db, lambda users: users.disable(email))
        click.echo(f"{user.email} disabled; their sessions have ended")

    @users.command("enable")
    @click.argument("email")
    @data_dir_option
    @db_option
    def users_enable(email: str, data_dir: Path | None, db: str | None) -> None:
        """Let a disabled user sign in again."""
        user = with_users(data_dir, db, lambda users: users.enable(email))
        click.echo(f"{user.email} enabled")

    @users.command("role")
    @click.argument("email")
    @click.option("--role", type=click.Choice(USER_ROLES), required=True)
    @click.option("--owner", default=None, help='A sales user\'s routing owner (for "my leads").')
    @data_dir_option
    @db_option
    def users_role(email: str, role: str, owner: str | None, data_dir: Path | None, db: str | None) -> None:
        """Change a user's role (and routing owner); the last active admin stays one."""
        user = with_users(data_dir, db, lambda users: users.set_role(email, role, owner))
        click.echo(f"{user.email} is {user.role}" + (f", owner {user.owner}" if user.owner else ""))

    @users.command("reset-link")
    @click.argument("email")
    @base_option
    @data_dir_option
    @db_option
    def users_reset_link(email: str, base_url: str, data_dir: Path | None, db: str | None) -> None:
        """Print a one-time link (24 h) to set a new password; earlier links stop working."""
        token = with_users(data_dir, db, lambda users: users.password_link(email, time.time(), actor="cli"))
        click.echo(f"one-time link for {email} (valid 24 h):", err=True)
        click.echo(_link_line(token, base_url))

    return users
