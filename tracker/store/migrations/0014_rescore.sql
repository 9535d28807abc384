-- Re-scoring a site's history with a published programme version (services/rescore.py).
-- A job walks the site's people in id order, a small batch per write unit; ``last_person`` is the
-- last person id done, so an interrupted job resumes where it stopped.  ``heartbeat`` moves
-- with every batch: a running job whose heartbeat is old lost its process and may be taken over.
-- ``runner`` names the run carrying the job on (a new one at each start or resume), so a run that
-- lost its job to another never writes to it again.
CREATE TABLE rescore_jobs (
    id {pk},
    site_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    status TEXT NOT NULL,
    runner TEXT NOT NULL,
    last_person BIGINT NOT NULL DEFAULT 0,
    total BIGINT NOT NULL DEFAULT 0,
    done BIGINT NOT NULL DEFAULT 0,
    started_by TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    heartbeat DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION,
    summary TEXT NOT NULL DEFAULT '{}'
);
-- One unfinished job per site, settled by the database when two start at the same instant.
CREATE UNIQUE INDEX rescore_jobs_open ON rescore_jobs (site_id) WHERE finished_at IS NULL;
CREATE INDEX rescore_jobs_site ON rescore_jobs (site_id, id);

-- Ledger rows a rescore wrote name the version that wrote them (NULL: scored live).
ALTER TABLE ledger ADD COLUMN rescored_by BIGINT;
-- Why a stage was entered when it was not an event of the person's ("rescore v5"); NULL: an event.
ALTER TABLE stages ADD COLUMN reason TEXT;
-- The rescore and the what-if walk a site's people in id order.
CREATE INDEX persons_site_id ON persons (site_id, id);
