-- Each page address and referrer is stored once: events name them by id (issue #13: they were
-- half of an event's bytes).  "" (no referrer, an event with no page) is NULL, no row.
-- Nothing reads events' URLs but through the event_rows view below, which joins the texts back.
CREATE TABLE urls (
    id {pk},
    text TEXT NOT NULL UNIQUE
);
INSERT INTO urls (text)
    SELECT url FROM events WHERE url <> '' UNION SELECT referrer FROM events WHERE referrer <> '';

-- On PostgreSQL the keys make an event naming a URL another instance just deleted (erasure took
-- its last event) fail, so its unit runs again (store/url_ids.py); SQLite does not enforce them.
ALTER TABLE events ADD COLUMN url_id BIGINT CONSTRAINT events_url_fk REFERENCES urls (id);
ALTER TABLE events ADD COLUMN referrer_id BIGINT CONSTRAINT events_referrer_fk REFERENCES urls (id);
UPDATE events SET
    url_id = (SELECT id FROM urls WHERE text = events.url),
    referrer_id = (SELECT id FROM urls WHERE text = events.referrer);
ALTER TABLE events DROP COLUMN url;
ALTER TABLE events DROP COLUMN referrer;

-- Whether any event still names a URL, when events are deleted (store/url_queries.py).
CREATE INDEX events_url ON events (url_id) WHERE url_id IS NOT NULL;
CREATE INDEX events_referrer ON events (referrer_id) WHERE referrer_id IS NOT NULL;

CREATE VIEW event_rows AS
    SELECT e.id, e.person_id, e.visitor_id, e.ts, e.type, e.name, COALESCE(u.text, '') AS url,
        COALESCE(r.text, '') AS referrer, e.props, e.visit
    FROM events e LEFT JOIN urls u ON u.id = e.url_id LEFT JOIN urls r ON r.id = e.referrer_id;
