-- The history of each profile field: every value a form, an identify call or a merge brought,
-- written or withheld.  A device never tied to a person (a stranger typing someone's e-mail)
-- only fills empty fields; what it would have overwritten is kept here, for sales to see.
CREATE TABLE profile_history (
    id {pk},
    person_id BIGINT NOT NULL,
    field TEXT NOT NULL,
    new_value TEXT,
    old_value TEXT,
    applied INTEGER NOT NULL,
    visitor_id TEXT,
    event_id BIGINT,
    ts DOUBLE PRECISION NOT NULL
);
CREATE INDEX profile_history_person ON profile_history (person_id, id);
