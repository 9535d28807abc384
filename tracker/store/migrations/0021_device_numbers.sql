-- Events and decisions name their device by number, not by its 22-character id (issue #13: the
-- id was a quarter of an event's bytes).  A device's number is its visitors row's key: the
-- rowid on SQLite (AUTOINCREMENT, so VACUUM keeps it and a deleted device's number is never
-- handed out again), an identity on PostgreSQL.  The id inside the signed token stays as it
-- was, unique.  Nothing reads events' or decisions' devices but through the event_rows and
-- decision_rows views below, which join the ids back.
CREATE TABLE numbered_visitors (
    num {pk},
    id TEXT NOT NULL UNIQUE,
    site_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    visits INTEGER NOT NULL DEFAULT 1,
    device TEXT NOT NULL DEFAULT '',
    browser TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL,
    last_seen_at DOUBLE PRECISION NOT NULL,
    ip_prefix TEXT,
    bot TEXT
);
INSERT INTO numbered_visitors (id, site_id, person_id, visits, device, browser, created_at, last_seen_at, ip_prefix, bot)
    SELECT id, site_id, person_id, visits, device, browser, created_at, last_seen_at, ip_prefix, bot
    FROM visitors ORDER BY created_at, id;
DROP TABLE visitors;
ALTER TABLE numbered_visitors RENAME TO visitors;
CREATE INDEX visitors_person ON visitors (person_id);
CREATE INDEX visitors_site_seen ON visitors (site_id, last_seen_at);

-- A device trimmed from its person (abuse.MAX_DEVICES) keeps its events, so its id must stay
-- readable once its visitors row is gone: it moves here, with its number and its person (for
-- erasure and merges, like every row of a person's).  Devices whose row went before this
-- migration get numbers below zero, apart from every visitors row's.
CREATE TABLE former_devices (
    num BIGINT PRIMARY KEY,
    id TEXT NOT NULL,
    person_id BIGINT NOT NULL
){without_rowid};
CREATE INDEX former_devices_person ON former_devices (person_id);
INSERT INTO former_devices (num, id, person_id)
    SELECT -ROW_NUMBER() OVER (ORDER BY id, person_id), id, person_id FROM (
        SELECT visitor_id AS id, person_id FROM events WHERE visitor_id <> ''
        UNION SELECT visitor_id, person_id FROM decisions WHERE visitor_id <> ''
    ) gone
    WHERE id NOT IN (SELECT id FROM visitors);

-- NULL: no device ("" before), e.g. an outcome recorded by sales.
ALTER TABLE events ADD COLUMN visitor_num BIGINT;
UPDATE events SET visitor_num = COALESCE(
    (SELECT num FROM visitors WHERE id = events.visitor_id),
    (SELECT num FROM former_devices WHERE id = events.visitor_id AND person_id = events.person_id)
) WHERE visitor_id <> '';
ALTER TABLE decisions ADD COLUMN visitor_num BIGINT;
UPDATE decisions SET visitor_num = COALESCE(
    (SELECT num FROM visitors WHERE id = decisions.visitor_id),
    (SELECT num FROM former_devices WHERE id = decisions.visitor_id AND person_id = decisions.person_id)
) WHERE visitor_id <> '';

DROP VIEW event_rows;
ALTER TABLE events DROP COLUMN visitor_id;
ALTER TABLE decisions DROP COLUMN visitor_id;

-- event_rows as 0019 made it, but for visitor_id: the id of the device the event names.
CREATE VIEW event_rows AS
    SELECT e.id, e.person_id, COALESCE(v.id, f.id, '') AS visitor_id, e.ts, e.type, e.name,
        COALESCE(u.text, '') AS url, COALESCE(r.text, '') AS referrer, e.props, COALESCE(u.title, '') AS title,
        e.visit
    FROM events e LEFT JOIN visitors v ON v.num = e.visitor_num LEFT JOIN former_devices f ON f.num = e.visitor_num
        LEFT JOIN urls u ON u.id = e.url_id LEFT JOIN urls r ON r.id = e.referrer_id;

-- The decisions table's columns as they were, the device's id among them.
CREATE VIEW decision_rows AS
    SELECT d.id, d.person_id, COALESCE(v.id, f.id, '') AS visitor_id, d.campaign, d.action, d.event_id, d.ts,
        d.variant
    FROM decisions d LEFT JOIN visitors v ON v.num = d.visitor_num LEFT JOIN former_devices f ON f.num = d.visitor_num;
