-- The dashboard's questions, answered from indexes rather than table scans (100k people,
-- millions of events): who entered a stage since a time, what scored since a time, and
-- which devices were seen in the last minutes.
CREATE INDEX stages_stage_ts ON stages (stage, ts);
CREATE INDEX ledger_ts ON ledger (ts);
CREATE INDEX visitors_site_seen ON visitors (site_id, last_seen_at);
