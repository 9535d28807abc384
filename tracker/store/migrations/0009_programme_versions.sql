-- Every published programme of a site, numbered from 1: who (a user's e-mail or "cli"), when,
-- why (comment) and how (origin: publish, rollback, clone, cli, migration), with the
-- whole TOML, so any two versions can be compared and any one published again.
-- sites.programme stays the active copy the servers compile; the latest row holds the same text.
CREATE TABLE programme_versions (
    id {pk},
    site_id BIGINT NOT NULL,
    number BIGINT NOT NULL,
    source TEXT NOT NULL,
    author TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
-- Two publishes from the same base cannot both take the next number.
CREATE UNIQUE INDEX programme_versions_number ON programme_versions (site_id, number);

-- The programme each site had before versions existed becomes its version 1, here, once:
-- every site created or changed from now on gets its rows from the code that changes it.
INSERT INTO programme_versions (site_id, number, source, author, comment, origin, created_at)
SELECT id, 1, programme, 'cli', '', 'migration', created_at FROM sites WHERE programme <> '';

-- A console user's unpublished edit of a site's programme (one per user and site), with the
-- version it started from, so a reload or a second tab finds it and a stale one is noticed.
CREATE TABLE programme_drafts (
    user_id BIGINT NOT NULL,
    site_id BIGINT NOT NULL,
    source TEXT NOT NULL,
    base_version BIGINT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (user_id, site_id)
);
