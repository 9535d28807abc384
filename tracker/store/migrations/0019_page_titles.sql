-- A page's title is stored once with its address, no longer in each of its events' props (issue #13:
-- ~25 bytes an event).  A urls row is an (address, title) pair, so an event's url_id names both;
-- a referrer, or a page without a title, has title ''.  Readers get it from event_rows.title, put
-- back in props.title where it was (store/rows.py), and it goes with its row on erasure.
DROP VIEW event_rows;

{postgresql} ALTER TABLE urls ADD COLUMN title TEXT NOT NULL DEFAULT '';
{postgresql} ALTER TABLE urls DROP CONSTRAINT urls_text_key;
{postgresql} ALTER TABLE urls ADD CONSTRAINT urls_text_title_key UNIQUE (text, title);

-- SQLite cannot drop a UNIQUE: the table is built anew with the same ids, and its sequence goes on
-- from where it was, for an id is never reused (store/url_ids.py).
{sqlite} CREATE TABLE urls_0019 (
    id {pk},
    text TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    UNIQUE (text, title)
);
{sqlite} INSERT INTO sqlite_sequence (name, seq) SELECT 'urls_0019', seq FROM sqlite_sequence WHERE name = 'urls';
{sqlite} INSERT INTO urls_0019 (id, text) SELECT id, text FROM urls;
{sqlite} DROP TABLE urls;
{sqlite} ALTER TABLE urls_0019 RENAME TO urls;

-- The LIKE only spares parsing the props of events that cannot hold a title.
INSERT INTO urls (text, title)
    SELECT DISTINCT COALESCE(u.text, ''), {props_title} FROM events e LEFT JOIN urls u ON u.id = e.url_id
    WHERE e.props LIKE '%"title"%' AND {props_title} <> '';
UPDATE events SET
    url_id = (
        SELECT p.id FROM urls p
        WHERE p.text = COALESCE((SELECT u.text FROM urls u WHERE u.id = events.url_id), '') AND p.title = {props_title}
    ),
    props = {props_without_title}
WHERE props LIKE '%"title"%' AND {props_title} <> '';
-- Addresses only titled pages named are named with their titles now.
DELETE FROM urls WHERE NOT EXISTS (SELECT 1 FROM events WHERE url_id = urls.id)
    AND NOT EXISTS (SELECT 1 FROM events WHERE referrer_id = urls.id);

CREATE VIEW event_rows AS
    SELECT e.id, e.person_id, e.visitor_id, e.ts, e.type, e.name, COALESCE(u.text, '') AS url,
        COALESCE(r.text, '') AS referrer, e.props, COALESCE(u.title, '') AS title, e.visit
    FROM events e LEFT JOIN urls u ON u.id = e.url_id LEFT JOIN urls r ON r.id = e.referrer_id;
