-- Administration (the console's admin pages and `tracker users|sites|keys`).

-- "There is one first admin" as a fact the database enforces: the first-admin link inserts
-- this row with the user it created, so two different first-admin links used at the same
-- instant (two PostgreSQL instances) cannot both create one: the second insert fails on the
-- primary key and its whole transaction is undone.
CREATE TABLE install_marks (
    name TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    at DOUBLE PRECISION NOT NULL
);

-- Install-wide changes (users, and who touched which site's keys from where) need a home in
-- the audit log: site_id NULL means "the install".  SQLite cannot drop a NOT NULL, so the
-- table is rebuilt, rows in their order; ids are renumbered, which nothing refers to.
CREATE TABLE audit_log_0011 (
    id {pk},
    site_id BIGINT,
    at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject BIGINT,
    detail TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO audit_log_0011 (site_id, at, actor, action, subject, detail)
    SELECT site_id, at, actor, action, subject, detail FROM audit_log ORDER BY id;
DROP TABLE audit_log;
ALTER TABLE audit_log_0011 RENAME TO audit_log;
CREATE INDEX audit_log_site_at ON audit_log (site_id, at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
