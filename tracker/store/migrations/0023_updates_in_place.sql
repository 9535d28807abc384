-- Every beacon call updates its person's and its device's row, and each call moves their
-- last_seen_at (issue #13).  An UPDATE that changes an indexed column writes a new entry into
-- every index of the table on PostgreSQL (no heap-only update), and rewrites that index's entry
-- on SQLite.  On PostgreSQL the dead entries pile up until a vacuum: measured on /v1/batch, the
-- database's CPU per event went from 95 to 215 µs in 48 s, 50 µs flat with no indexed column
-- moving.  So no index holds a time that every call moves:
-- * persons: the lead lists and the retention purge find a site's people by stage and filter
--   the time on the rows;
-- * visitors: the dashboard's active devices are found by a ten-minute slot of last_seen_at
--   (store/rows.py, seen_slot), which a device browsing on keeps for ten minutes.
DROP INDEX persons_site_stage;
CREATE INDEX persons_site_stage ON persons (site_id, stage);
ALTER TABLE visitors ADD COLUMN seen_slot BIGINT NOT NULL DEFAULT 0;
{sqlite} UPDATE visitors SET seen_slot = CAST(last_seen_at / 600 AS INTEGER);
{postgresql} UPDATE visitors SET seen_slot = FLOOR(last_seen_at / 600);
DROP INDEX visitors_site_seen;
CREATE INDEX visitors_site_slot ON visitors (site_id, seen_slot);
