-- What-if runs the console started (services/what_if_runs.py): a programme draft replayed over a
-- site's history in the background.  Its progress and its result are kept here, so that the page can
-- be left and come back to, and any worker process can show them.  A what-if writes nothing else.
-- ``heartbeat`` moves with every page of people: a running run whose heartbeat is old lost its process.
CREATE TABLE what_if_runs (
    id {pk},
    site_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    draft TEXT NOT NULL,
    days BIGINT NOT NULL,
    status TEXT NOT NULL,
    total BIGINT NOT NULL DEFAULT 0,
    done BIGINT NOT NULL DEFAULT 0,
    started_by TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    heartbeat DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION,
    result TEXT,
    error TEXT
);
CREATE INDEX what_if_runs_site ON what_if_runs (site_id, draft, days, id);
