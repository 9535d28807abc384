-- Only experiments read decisions by campaign (store/experiment_queries.py): the exposures, rows
-- that name an arm, and the conversions.  An index of every decision was a tenth of an event's bytes
-- (issue #13); these two partial ones hold only what those queries read, and each query's WHERE
-- repeats its index's condition as written so that both databases may use it.
DROP INDEX decisions_campaign;
CREATE INDEX decisions_campaign ON decisions (campaign, action) WHERE variant IS NOT NULL;
CREATE INDEX decisions_conversion ON decisions (campaign) WHERE action = 'conversion';
