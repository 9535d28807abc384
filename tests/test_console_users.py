"""Console users (services.console_users): links, passwords, sessions, disabling."""

from __future__ import annotations

import pytest

from tracker.config import Settings
from tracker.services.console_users import IDLE, ConsoleUserError, ConsoleUsers
from tracker.store import Store

from .conftest import Server


def console_users(server: Server) -> ConsoleUsers:
    """The server's own, which hashes passwords as its settings say."""
    users: ConsoleUsers = server.app.state.console.console_users
    return users


async def test_passwords_cost_argon2s_default_and_only_tests_choose_less(server: Server, sqlite_store: Store) -> None:
    assert Settings().password_hashing == Settings.from_env().password_hashing == "argon2id"
    hashed = await ConsoleUsers(sqlite_store, "test-secret").hash_password("s3cret-enough")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    # The test servers' cheap hashes are argon2id all the same, and a hash carries its own cost.
    users = console_users(server)
    assert (await users.hash_password("s3cret-enough")).startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert users.hasher.verify(hashed, "s3cret-enough")


async def test_first_admin_link_works_once(server: Server) -> None:
    users = console_users(server)
    token = await users.first_admin_link(server.clock())
    assert token is not None
    admin = await users.use_link(token, "correct horse battery", server.clock(), email="Boss@Example.com")
    assert (admin.email, admin.role) == ("boss@example.com", "admin")
    with pytest.raises(ConsoleUserError):
        await users.use_link(token, "another password!", server.clock(), email="evil@example.com")
    # Once somebody exists, no first-admin link is issued, and a tampered token is refused.
    assert await users.first_admin_link(server.clock()) is None
    with pytest.raises(ConsoleUserError):
        await users.use_link(token + "x", "another password!", server.clock(), email="evil@example.com")
    assert [u.email for u in await users.users()] == ["boss@example.com"]


async def test_wrong_password_and_unknown_user_get_the_same_answer(server: Server) -> None:
    users = console_users(server)
    user = await users.create_user("sam@example.com", "sales", server.clock())
    assert await users.sign_in("sam@example.com", "anything at all", server.clock()) is None  # no password yet
    await users.use_link(await users.password_link(user.email, server.clock()), "s3cret-enough", server.clock())
    assert await users.sign_in("sam@example.com", "wrong password", server.clock()) is None
    assert await users.sign_in("nobody@example.com", "wrong password", server.clock()) is None
    assert await users.sign_in("not an email", "wrong password", server.clock()) is None
    signed = await users.sign_in("SAM@example.com", "s3cret-enough", server.clock())
    assert signed is not None and signed.id == user.id


async def test_password_link_is_single_use_and_replaced_by_a_newer_one(server: Server) -> None:
    users = console_users(server)
    await users.create_user("mia@example.com", "marketing", server.clock())
    first = await users.password_link("mia@example.com", server.clock())
    second = await users.password_link("mia@example.com", server.clock())
    with pytest.raises(ConsoleUserError):
        await users.use_link(first, "long enough pw", server.clock())
    await users.use_link(second, "long enough pw", server.clock())
    with pytest.raises(ConsoleUserError):
        await users.use_link(second, "long enough pw 2", server.clock())
    with pytest.raises(ConsoleUserError, match="at least"):
        await users.use_link(await users.password_link("mia@example.com", server.clock()), "short", server.clock())


async def test_sessions_expire_when_idle_and_end_when_the_user_is_disabled(server: Server) -> None:
    users = console_users(server)
    user = await users.create_user("sam@example.com", "sales", server.clock())
    session_id, _ = await users.open_session(user, server.clock())
    server.clock.advance(IDLE - 10)
    assert await users.session(session_id, server.clock()) is not None  # used: idle time starts again
    server.clock.advance(IDLE - 10)
    assert await users.session(session_id, server.clock()) is not None
    server.clock.advance(IDLE + 1)
    assert await users.session(session_id, server.clock()) is None
    other, _ = await users.open_session(user, server.clock())
    assert await users.session(other, server.clock()) is not None
    await users.disable("sam@example.com")
    assert await users.session(other, server.clock()) is None
    with pytest.raises(ConsoleUserError):
        await users.create_user("sam@example.com", "admin", server.clock())
