-- Threshold proposals (seed 004): a change of a score's MQL/SQL thresholds is agreed by
-- marketing and sales together.  One row per proposal, for one score of one site: the
-- thresholds it was made against (before) and those it asks for (after; NULL: no threshold).
-- Each side's approval is a name and a time; the proposer's own side is approved at once.
-- status: pending | applying (both sides agreed, the publish is under way) | applied |
-- rejected | withdrawn | superseded (the thresholds changed before it was applied).
-- Who: the e-mail of a console user, or the name given to `tracker programme load`.
CREATE TABLE threshold_proposals (
    id {pk},
    site_id BIGINT NOT NULL,
    score TEXT NOT NULL,
    mql_before DOUBLE PRECISION,
    sql_before DOUBLE PRECISION,
    mql_after DOUBLE PRECISION,
    sql_after DOUBLE PRECISION,
    reason TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    proposer_id BIGINT,
    proposed_at DOUBLE PRECISION NOT NULL,
    marketing_by TEXT,
    marketing_at DOUBLE PRECISION,
    sales_by TEXT,
    sales_at DOUBLE PRECISION,
    status TEXT NOT NULL DEFAULT 'pending',
    decided_by TEXT,
    decided_at DOUBLE PRECISION,
    decision_reason TEXT,
    version BIGINT
);
CREATE INDEX threshold_proposals_site ON threshold_proposals (site_id, status, id);
