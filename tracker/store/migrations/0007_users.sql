-- Console accounts: people who sign in to /admin, one install-wide table (a user sees every site).
-- Passwords are argon2 hashes; a user without one has not followed their setup link yet.
CREATE TABLE users (
    id {pk},
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL,
    last_login_at DOUBLE PRECISION
);

-- Signed-in browsers.  The cookie carries a random id; only its SHA-256 digest is stored, so a
-- copy of the database signs nobody in.  Signing out or disabling the user deletes the rows.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    csrf TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    last_seen_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- One-time links (first admin, set or reset a password): the signed link names a nonce, and
-- using it deletes the row, so a link works once even when two browsers race with it.
CREATE TABLE user_links (
    nonce TEXT PRIMARY KEY,
    user_id BIGINT,
    purpose TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
