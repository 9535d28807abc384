"""Console users: users, password checks, server-side sessions and one-time links.

- Passwords are argon2id hashes (argon2-cffi), computed in a thread so the event loop keeps
  serving beacons; no password ever ships: a user sets theirs from a one-time link.
- ``sign_in`` gives one answer (None) for an unknown e-mail, a disabled user, a user who has
  not set a password and a wrong password, and spends the same argon2 work in each case.
- A session is a row: signing out, disabling the user or setting a new password deletes it,
  and it ends after ``IDLE`` seconds without a request or ``ABSOLUTE`` seconds after sign-in.
- A link is signed (itsdangerous, with its age) *and* names a nonce stored in ``user_links``;
  using it deletes the nonce, so it works once, and a newer link for a user voids the older.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from tracker.domain.identity import IdentityError, normalise_email
from tracker.domain.keys import digest
from tracker.domain.roles import USER_ROLES
from tracker.errors import BadRequest
from tracker.store import Queries, SessionRecord, Store, UserRecord

IDLE = 2 * 3600  # a session unused this long is over
ABSOLUTE = 12 * 3600  # and any session ends this long after sign-in
TOUCH_EVERY = 60  # write a session's last use at most this often
FIRST_ADMIN_SECONDS = 3600  # the link printed by `tracker serve` on an empty user table
PASSWORD_LINK_SECONDS = 24 * 3600  # a new user's or a reset link
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_OWNER = 200
FIRST_ADMIN = "first-admin"
PASSWORD = "password"

# argon2-cffi's default, RFC 9106's low-memory choice (3 passes over 64 MiB), and its profile
# for test suites, which only tests choose (``Settings.password_hashing`` is never read from the
# environment): a hash costs ~0.1 s of CPU, and the suite signs in hundreds of times.
HASHINGS = {"argon2id": profiles.RFC_9106_LOW_MEMORY, "cheapest-for-tests": profiles.CHEAPEST}


class ConsoleUserError(BadRequest):
    code = "console_user"


@dataclass(frozen=True, slots=True)
class LinkInfo:
    purpose: str  # FIRST_ADMIN or PASSWORD
    user: UserRecord | None  # the user a PASSWORD link is for


def user_email(raw: str) -> str:
    try:
        return normalise_email(raw)
    except IdentityError as exc:
        raise ConsoleUserError(str(exc), field="email") from None


def check_role(role: str) -> str:
    if role not in USER_ROLES:
        raise ConsoleUserError(f"role must be one of {', '.join(USER_ROLES)}", field="role")
    return role


def check_owner(owner: str | None, role: str) -> str | None:
    """A sales user's routing owner (the name routes give, for "my leads"); nobody else has one."""
    name = (owner or "").strip()
    if not name:
        return None
    if role != "sales":
        raise ConsoleUserError("only a sales user is a routing owner", field="owner")
    if len(name) > MAX_OWNER or any(ord(c) < 32 for c in name):
        raise ConsoleUserError(f"an owner is a name of at most {MAX_OWNER} characters", field="owner")
    return name


def _state(role: str, owner: str | None) -> dict[str, Any]:
    return {"role": role, "owner": owner}


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ConsoleUserError(f"a password needs at least {MIN_PASSWORD} characters", field="password")
    if len(password) > MAX_PASSWORD or "\x00" in password:
        raise ConsoleUserError("this password cannot be used", field="password")
    return password


class ConsoleUsers:
    """Users and sessions of one install; ``secret`` signs the links (the server's signing secret)."""

    def __init__(self, store: Store, secret: str, *, hashing: str = "argon2id") -> None:
        self.store = store
        self.links = URLSafeTimedSerializer(secret, salt="tracker.console.link")
        self.hasher = PasswordHasher.from_parameters(HASHINGS[hashing])

    @cached_property
    def _decoy_hash(self) -> str:
        """A hash to verify against when there is no real one, so every failure costs the same."""
        return self.hasher.hash(secrets.token_urlsafe(16))

    async def hash_password(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, check_password(password))

    async def _verifies(self, hashed: str | None, password: str) -> bool:
        def verify() -> bool:
            try:
                return self.hasher.verify(hashed or self._decoy_hash, password) and hashed is not None
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(verify)

    # -- users ---------------------------------------------------------------------------------

    async def create_user(
        self, email: str, role: str, now: float, *, owner: str | None = None, actor: str = "cli"
    ) -> UserRecord:
        """A user without a password yet (they set it from ``password_link``); audited."""
        address, role, owner = user_email(email), check_role(role), check_owner(owner, role)

        async def unit(q: Queries) -> UserRecord:
            if await q.user_by_email(address) is not None:
                raise ConsoleUserError(f"{address} is already a user", field="email")
            user_id = await q.insert_user(address, role, None, now, owner)
            await q.insert_audit(None, now, actor, "user_create", None, {"user": address, "after": _state(role, owner)})
            user = await q.user_by_id(user_id)
            assert user is not None
            return user

        return await self.store.write(unit)

    async def users(self) -> list[UserRecord]:
        return await self.store.read(lambda q: q.users())

    async def user(self, email: str) -> UserRecord | None:
        address = user_email(email)
        return await self.store.read(lambda q: q.user_by_email(address))

    async def disable(self, email: str, *, now: float | None = None, actor: str = "cli") -> UserRecord:
        """Disable a user and end every session they have (never the last active admin)."""
        return await self._change(email, now, actor, disabled=True)

    async def enable(self, email: str, *, now: float | None = None, actor: str = "cli") -> UserRecord:
        return await self._change(email, now, actor, disabled=False)

    async def set_role(
        self, email: str, role: str, owner: str | None, *, now: float | None = None, actor: str = "cli"
    ) -> UserRecord:
        """Change a user's role and routing owner (never demoting the last active admin)."""
        role = check_role(role)
        return await self._change(email, now, actor, role=role, owner=check_owner(owner, role))

    async def _change(
        self,
        email: str,
        now: float | None,
        actor: str,
        *,
        disabled: bool | None = None,
        role: str | None = None,
        owner: str | None = None,
    ) -> UserRecord:
        address = user_email(email)
        at = time.time() if now is None else now

        async def unit(q: Queries) -> UserRecord:
            admins = await q.active_admin_ids()  # locked first: admins changing each other serialise here
            user = await q.user_by_email(address)
            if user is None:
                raise ConsoleUserError(f"no user {address}", field="email")
            after_role = role if role is not None else user.role
            after_disabled = disabled if disabled is not None else user.disabled
            still_admin = after_role == "admin" and not after_disabled
            if admins == [user.id] and not still_admin:
                field = "role" if role is not None and role != "admin" else "email"
                raise ConsoleUserError(
                    f"{address} is the last active admin: make someone else admin first", field=field
                )
            changes: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
            if disabled is not None and disabled != user.disabled:
                await q.set_user_disabled(user.id, disabled)
                if disabled:
                    await q.delete_sessions_of(user.id)
                changes.append(("user_disable" if disabled else "user_enable", {}, {}))
            if role is not None and (role, owner) != (user.role, user.owner):
                await q.set_user_role(user.id, role)
                await q.set_user_owner(user.id, owner)
                changes.append(("user_role", _state(user.role, user.owner), _state(role, owner)))
            for action, before, after in changes:
                detail: dict[str, Any] = {"user": address, **({"before": before, "after": after} if after else {})}
                await q.insert_audit(None, at, actor, action, None, detail)
            changed = await q.user_by_id(user.id)
            assert changed is not None
            return changed

        return await self.store.write(unit)

    async def save_settings(self, user_id: int, *, locale: str | None, timezone: str | None) -> None:
        """A user's own language and time zone (None: follow the browser, UTC)."""
        await self.store.write(lambda q: q.update_user_settings(user_id, locale=locale, timezone=timezone))

    # -- one-time links ------------------------------------------------------------------------

    async def first_admin_link(self, now: float) -> str | None:
        """A token that creates the first admin, or None when the install already has users."""
        nonce = secrets.token_urlsafe(24)

        async def unit(q: Queries) -> bool:
            if await q.count_users() > 0:
                return False
            await q.insert_link(nonce, None, FIRST_ADMIN, now + FIRST_ADMIN_SECONDS)
            return True

        return self._sign(nonce, FIRST_ADMIN) if await self.store.write(unit) else None

    async def password_link(self, email: str, now: float, *, actor: str | None = None) -> str:
        """A token that sets ``email``'s password; it voids the user's earlier links.

        ``actor`` (who asked for a reset) is audited; a new user's first link is part of their creation.
        """
        address = user_email(email)
        nonce = secrets.token_urlsafe(24)

        async def unit(q: Queries) -> None:
            user = await q.user_by_email(address)
            if user is None:
                raise ConsoleUserError(f"no user {address}", field="email")
            if user.disabled:
                raise ConsoleUserError(f"{address} is disabled", field="email")
            await q.insert_link(nonce, user.id, PASSWORD, now + PASSWORD_LINK_SECONDS)
            if actor is not None:
                await q.insert_audit(None, now, actor, "user_reset_link", None, {"user": address})

        await self.store.write(unit)
        return self._sign(nonce, PASSWORD)

    def _sign(self, nonce: str, purpose: str) -> str:
        return self.links.dumps({"n": nonce, "p": purpose})

    def _unsign(self, token: str) -> tuple[str, str] | None:
        try:
            data = self.links.loads(token, max_age=max(FIRST_ADMIN_SECONDS, PASSWORD_LINK_SECONDS))
        except BadSignature:  # SignatureExpired is one
            return None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("n"), str)
            or data.get("p")
            not in (
                FIRST_ADMIN,
                PASSWORD,
            )
        ):
            return None
        return data["n"], data["p"]

    async def link(self, token: str, now: float) -> LinkInfo | None:
        """What a link is for, if it can still be used (its row decides its expiry)."""
        signed = self._unsign(token)
        if signed is None:
            return None
        nonce, purpose = signed

        async def unit(q: Queries) -> LinkInfo | None:
            if not await q.link_is_live(nonce, purpose, now):
                return None
            if purpose == FIRST_ADMIN:
                return LinkInfo(FIRST_ADMIN, None) if await q.count_users() == 0 else None
            user_id = await q.link_user_id(nonce)
            user = await q.user_by_id(user_id) if user_id is not None else None
            return LinkInfo(PASSWORD, user) if user is not None and not user.disabled else None

        return await self.store.read(unit)

    async def use_link(self, token: str, password: str, now: float, *, email: str | None = None) -> UserRecord:
        """Spend a link: create the first admin (``email``) or set a user's password.

        Every session the user had ends.  Raises ConsoleUserError if the link is spent or invalid.
        """
        spent = ConsoleUserError("this link has expired or was already used; ask for a new one", field="link")
        signed = self._unsign(token)
        if signed is None:
            raise spent
        nonce, purpose = signed
        address = user_email(email or "") if purpose == FIRST_ADMIN else None
        hashed = await self.hash_password(password)

        async def unit(q: Queries) -> UserRecord:
            user_id = await q.link_user_id(nonce)
            if not await q.consume_link(nonce, purpose, now):
                raise spent
            if purpose == FIRST_ADMIN:
                assert address is not None
                if await q.count_users() > 0:
                    raise spent
                new_id = await q.insert_user(address, "admin", hashed, now)
                # Two first-admin links used at once (two instances) both see no user: the unique
                # mark lets one commit; the other's unit fails, and on a re-run sees a user.
                await q.mark_first_admin(new_id, now)
                await q.insert_audit(
                    None, now, f"user:{new_id}", "user_create", None, {"user": address, "after": _state("admin", None)}
                )
                user = await q.user_by_id(new_id)
            else:
                user = await q.user_by_id(user_id) if user_id is not None else None
                if user is None or user.disabled:
                    raise spent
                await q.set_password_hash(user.id, hashed)
                await q.delete_sessions_of(user.id)
            assert user is not None
            await q.record_login(user.id, now)  # the link signs them in
            return user

        return await self.store.write(unit)

    # -- signing in ----------------------------------------------------------------------------

    async def sign_in(self, email: str, password: str, now: float) -> UserRecord | None:
        """The user, if ``password`` is theirs and they may sign in; None otherwise, whatever the reason."""
        try:
            address: str | None = user_email(email)
        except ConsoleUserError:
            address = None
        user = await self.store.read(lambda q: q.user_by_email(address)) if address else None
        hashed = user.password_hash if user is not None and not user.disabled else None
        # The argon2 work is spent whether or not there is a hash to check (no timing oracle).
        if not await self._verifies(hashed, password[:MAX_PASSWORD]) or user is None:
            return None
        await self.store.write(lambda q: q.record_login(user.id, now))
        return user

    async def open_session(self, user: UserRecord, now: float) -> tuple[str, str]:
        """A new session for ``user``: (the id for the cookie, the session's CSRF token)."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        hashed = digest(session_id)
        await self.store.write(lambda q: q.insert_session(hashed, user.id, csrf, now, now + ABSOLUTE))
        return session_id, csrf

    async def session(self, session_id: str, now: float) -> SessionRecord | None:
        """The session behind a cookie's id, if it is still valid; an expired one is deleted."""
        hashed = digest(session_id)
        found = await self.store.read(lambda q: q.session(hashed))
        if found is None:
            return None
        if found.user.disabled or now - found.last_seen_at > IDLE or now >= found.expires_at:
            await self.store.write(lambda q: q.delete_session(hashed))
            return None
        if now - found.last_seen_at >= TOUCH_EVERY:
            await self.store.write(lambda q: q.touch_session(hashed, now))
        return found

    async def close_session(self, session_id: str) -> None:
        hashed = digest(session_id)
        await self.store.write(lambda q: q.delete_session(hashed))
