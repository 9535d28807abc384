"""SQL for console users: users, their server-side sessions and one-time links."""

from __future__ import annotations

from dataclasses import dataclass

from tracker.store.conn import Conn, Row

_USER_COLUMNS = (
    "id, email, role, password_hash, disabled, created_at, last_login_at, locale, timezone, owner, leads_seen_at"
)


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    email: str
    role: str
    password_hash: str | None
    disabled: bool
    created_at: float
    last_login_at: float | None
    locale: str | None = None  # "en", "fr"; None: the browser's Accept-Language
    timezone: str | None = None  # an IANA name; None: UTC
    owner: str | None = None  # the routing owner this user is, for "my leads"
    leads_seen_at: float | None = None  # when they last opened the lead list


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str  # the digest of the cookie's random id
    user: UserRecord
    csrf: str
    created_at: float
    last_seen_at: float
    expires_at: float


def _user(row: Row, prefix: str = "") -> UserRecord:
    last_login = row[prefix + "last_login_at"]
    seen = row[prefix + "leads_seen_at"]
    return UserRecord(
        id=int(row[prefix + "id"]),
        email=row[prefix + "email"],
        role=row[prefix + "role"],
        password_hash=row[prefix + "password_hash"],
        disabled=bool(row[prefix + "disabled"]),
        created_at=float(row[prefix + "created_at"]),
        last_login_at=float(last_login) if last_login is not None else None,
        locale=row[prefix + "locale"],
        timezone=row[prefix + "timezone"],
        owner=row[prefix + "owner"],
        leads_seen_at=float(seen) if seen is not None else None,
    )


class UserQueries:
    conn: Conn

    # -- users ---------------------------------------------------------------------------------

    async def count_users(self) -> int:
        return int(await self.conn.fetchval("SELECT COUNT(*) FROM users"))

    async def insert_user(
        self, email: str, role: str, password_hash: str | None, now: float, owner: str | None = None
    ) -> int:
        user_id = await self.conn.fetchval(
            "INSERT INTO users (email, role, password_hash, disabled, created_at, owner)"
            " VALUES (?, ?, ?, 0, ?, ?) RETURNING id",
            email,
            role,
            password_hash,
            now,
            owner,
        )
        return int(user_id)

    async def mark_first_admin(self, user_id: int, now: float) -> None:
        """Fails on the primary key if the install already has its first admin (see 0011_admin.sql)."""
        await self.conn.execute(
            "INSERT INTO install_marks (name, user_id, at) VALUES ('first-admin', ?, ?)", user_id, now
        )

    async def active_admin_ids(self) -> list[int]:
        """The admins who can sign in, locked until the transaction ends (PostgreSQL): two admins
        demoting each other at once are then serialised, and the second sees the first's change."""
        rows = await self.conn.fetchall(
            "SELECT id FROM users WHERE role = 'admin' AND disabled = 0 ORDER BY id" + self.conn.lock_rows()
        )
        return [int(row["id"]) for row in rows]

    async def set_user_role(self, user_id: int, role: str) -> None:
        await self.conn.execute("UPDATE users SET role = ? WHERE id = ?", role, user_id)

    async def set_user_owner(self, user_id: int, owner: str | None) -> None:
        await self.conn.execute("UPDATE users SET owner = ? WHERE id = ?", owner, user_id)

    async def user_emails(self, user_ids: list[int]) -> dict[int, str]:
        if not user_ids:
            return {}
        marks = ", ".join("?" for _ in user_ids)
        rows = await self.conn.fetchall(f"SELECT id, email FROM users WHERE id IN ({marks})", *user_ids)
        return {int(row["id"]): row["email"] for row in rows}

    async def user_by_email(self, email: str) -> UserRecord | None:
        row = await self.conn.fetchone(f"SELECT {_USER_COLUMNS} FROM users WHERE email = ?", email)
        return _user(row) if row is not None else None

    async def user_by_id(self, user_id: int) -> UserRecord | None:
        row = await self.conn.fetchone(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", user_id)
        return _user(row) if row is not None else None

    async def users(self) -> list[UserRecord]:
        return [_user(row) for row in await self.conn.fetchall(f"SELECT {_USER_COLUMNS} FROM users ORDER BY id")]

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        await self.conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", password_hash, user_id)

    async def set_user_disabled(self, user_id: int, disabled: bool) -> None:
        await self.conn.execute("UPDATE users SET disabled = ? WHERE id = ?", int(disabled), user_id)

    async def record_login(self, user_id: int, now: float) -> None:
        await self.conn.execute("UPDATE users SET last_login_at = ? WHERE id = ?", now, user_id)

    async def set_leads_seen(self, user_id: int, session_started: float, now: float) -> float | None:
        """Record a visit to the lead list; when the previous visit began (None: this is the first).

        A visit is a session: only the session's first open moves the mark, atomically, so two
        tabs opened together agree, and every open of the session answers the same moment.
        """
        await self.conn.execute(
            "UPDATE users SET leads_seen_before = leads_seen_at, leads_seen_at = ?"
            " WHERE id = ? AND (leads_seen_at IS NULL OR leads_seen_at < ?)",
            now,
            user_id,
            session_started,
        )
        before = await self.conn.fetchval("SELECT leads_seen_before FROM users WHERE id = ?", user_id)
        return float(before) if before is not None else None

    async def update_user_settings(self, user_id: int, *, locale: str | None, timezone: str | None) -> None:
        await self.conn.execute("UPDATE users SET locale = ?, timezone = ? WHERE id = ?", locale, timezone, user_id)

    # -- sessions ------------------------------------------------------------------------------

    async def insert_session(self, session_id: str, user_id: int, csrf: str, now: float, expires_at: float) -> None:
        await self.conn.execute(
            "INSERT INTO sessions (id, user_id, csrf, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            session_id,
            user_id,
            csrf,
            now,
            now,
            expires_at,
        )

    async def session(self, session_id: str) -> SessionRecord | None:
        """The session and its user, whatever their state: the service decides what is still valid."""
        columns = ", ".join(f"u.{c.strip()} AS u_{c.strip()}" for c in _USER_COLUMNS.split(","))
        row = await self.conn.fetchone(
            f"SELECT s.id, s.csrf, s.created_at, s.last_seen_at, s.expires_at, {columns}"
            " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?",
            session_id,
        )
        if row is None:
            return None
        return SessionRecord(
            id=row["id"],
            user=_user(row, "u_"),
            csrf=row["csrf"],
            created_at=float(row["created_at"]),
            last_seen_at=float(row["last_seen_at"]),
            expires_at=float(row["expires_at"]),
        )

    async def touch_session(self, session_id: str, now: float) -> None:
        await self.conn.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", now, session_id)

    async def delete_session(self, session_id: str) -> None:
        await self.conn.execute("DELETE FROM sessions WHERE id = ?", session_id)

    async def delete_sessions_of(self, user_id: int) -> int:
        return await self.conn.execute("DELETE FROM sessions WHERE user_id = ?", user_id)

    async def delete_stale_sessions(self, idle_before: float, now: float) -> int:
        return await self.conn.execute(
            "DELETE FROM sessions WHERE last_seen_at < ? OR expires_at <= ?", idle_before, now
        )

    # -- one-time links ------------------------------------------------------------------------

    async def insert_link(self, nonce: str, user_id: int | None, purpose: str, expires_at: float) -> None:
        if user_id is not None:  # a new link for a user replaces the older ones
            await self.conn.execute("DELETE FROM user_links WHERE user_id = ?", user_id)
        await self.conn.execute(
            "INSERT INTO user_links (nonce, user_id, purpose, expires_at) VALUES (?, ?, ?, ?)",
            nonce,
            user_id,
            purpose,
            expires_at,
        )

    async def link_is_live(self, nonce: str, purpose: str, now: float) -> bool:
        found = await self.conn.fetchval(
            "SELECT 1 FROM user_links WHERE nonce = ? AND purpose = ? AND expires_at > ?", nonce, purpose, now
        )
        return found is not None

    async def link_user_id(self, nonce: str) -> int | None:
        user_id = await self.conn.fetchval("SELECT user_id FROM user_links WHERE nonce = ?", nonce)
        return int(user_id) if user_id is not None else None

    async def consume_link(self, nonce: str, purpose: str, now: float) -> bool:
        """Delete the link if it is still valid: True for exactly one caller, however many race."""
        deleted = await self.conn.execute(
            "DELETE FROM user_links WHERE nonce = ? AND purpose = ? AND expires_at > ?", nonce, purpose, now
        )
        return deleted == 1
