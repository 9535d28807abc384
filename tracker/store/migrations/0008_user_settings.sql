-- What each console user chose for themselves, and what ties them to the rest of the product:
-- the language and time zone pages are shown in (empty: the browser's Accept-Language, UTC),
-- the routing owner they are in sales ("my leads"), and when they last opened the lead list
-- ("new since my last visit").
ALTER TABLE users ADD COLUMN locale TEXT;
ALTER TABLE users ADD COLUMN timezone TEXT;
ALTER TABLE users ADD COLUMN owner TEXT;
ALTER TABLE users ADD COLUMN leads_seen_at DOUBLE PRECISION;
