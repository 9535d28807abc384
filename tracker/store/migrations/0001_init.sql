-- Core schema, portable between SQLite and PostgreSQL: the tokens in braces are the only
-- dialect differences (see migrations.py).  Times are POSIX seconds; JSON is stored as text.

CREATE TABLE sites (
    id {pk},
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    origins TEXT NOT NULL DEFAULT '[]',
    programme TEXT NOT NULL DEFAULT '',
    version BIGINT NOT NULL DEFAULT 1,
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE persons (
    id {pk},
    site_id BIGINT NOT NULL,
    email TEXT,
    stage TEXT NOT NULL DEFAULT 'anonymous',
    profile TEXT NOT NULL DEFAULT '{}',
    scoring TEXT NOT NULL DEFAULT '{}',
    campaigns TEXT NOT NULL DEFAULT '{}',
    created_at DOUBLE PRECISION NOT NULL,
    identified_at DOUBLE PRECISION,
    last_seen_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE UNIQUE INDEX persons_site_email ON persons (site_id, email);
CREATE INDEX persons_site_stage ON persons (site_id, stage, last_seen_at);

-- Denormalised copy of each score for filtering and sorting leads; persons.scoring is the truth.
CREATE TABLE person_scores (
    person_id BIGINT NOT NULL,
    score TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    changed_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (person_id, score)
);

-- A device: the random id inside the signed visitor token.
CREATE TABLE visitors (
    id TEXT PRIMARY KEY,
    site_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    visits INTEGER NOT NULL DEFAULT 1,
    device TEXT NOT NULL DEFAULT '',
    browser TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL,
    last_seen_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX visitors_person ON visitors (person_id);

-- Ids of persons merged away, so links held by other systems keep resolving.
CREATE TABLE aliases (
    old_id BIGINT PRIMARY KEY,
    person_id BIGINT NOT NULL,
    merged_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX aliases_person ON aliases (person_id);

-- PostgreSQL keys events by (id, ts) so the table can be turned into one partitioned by
-- month (PARTITION BY RANGE (ts)) without changing any query; nothing references it
-- by foreign key for the same reason.
CREATE TABLE events (
    id {event_id},
    person_id BIGINT NOT NULL,
    visitor_id TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    type TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    referrer TEXT NOT NULL DEFAULT '',
    props TEXT NOT NULL DEFAULT '{}',
    visit INTEGER NOT NULL DEFAULT 1{event_key}
);
CREATE INDEX events_person_ts ON events (person_id, ts);

CREATE TABLE ledger (
    id {pk},
    person_id BIGINT NOT NULL,
    score TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    event_id BIGINT,
    op TEXT NOT NULL,
    points DOUBLE PRECISION NOT NULL,
    before DOUBLE PRECISION NOT NULL,
    after DOUBLE PRECISION NOT NULL,
    ts DOUBLE PRECISION NOT NULL
);
CREATE INDEX ledger_person ON ledger (person_id, id);

CREATE TABLE stages (
    person_id BIGINT NOT NULL,
    stage TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    event_id BIGINT,
    PRIMARY KEY (person_id, stage)
);

CREATE TABLE decisions (
    id {pk},
    person_id BIGINT NOT NULL,
    visitor_id TEXT NOT NULL,
    campaign TEXT NOT NULL,
    action TEXT NOT NULL,
    event_id BIGINT,
    ts DOUBLE PRECISION NOT NULL
);
CREATE INDEX decisions_person ON decisions (person_id, id);

CREATE TABLE api_keys (
    id {pk},
    site_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    hash TEXT NOT NULL UNIQUE,
    created_at DOUBLE PRECISION NOT NULL,
    last_used_at DOUBLE PRECISION
);
