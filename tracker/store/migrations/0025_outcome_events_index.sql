-- Outcomes (what sales recorded: won, lost…) are a few events among millions, found by type: the
-- calibration report's first conversion of each lead, the what-if's, the experiments' leads won.
-- Without an index each of those read every event of every person it looked at, to find none or one
-- (2.6–3.9 s of a report on 100,000 people and 5,000,000 events).  This partial index holds only
-- outcomes; each query repeats its condition as written (type = 'outcome') so that both databases
-- may use it.
CREATE INDEX events_outcomes ON events (person_id, ts) WHERE type = 'outcome';
