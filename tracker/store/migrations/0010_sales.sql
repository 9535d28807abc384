-- "New since my last visit" on the lead list: a visit is a console session.  The first time a
-- session opens the list, leads_seen_at (the start of the previous visit) moves here and takes
-- the time now; every later open in the same session compares with this column, unchanged.
ALTER TABLE users ADD COLUMN leads_seen_before DOUBLE PRECISION;
