-- A ledger row names its score, rule and op by id: their texts were most of a row (issue #13),
-- and a site's programme only ever has a few dozen of them.  Names are never deleted: they are
-- the programme's, not anyone's data, so a remembered id always names the same text.
-- Nothing reads the ledger's names but through the ledger_rows view below, which joins them back.
CREATE TABLE ledger_names (
    id {pk},
    text TEXT NOT NULL UNIQUE
);
INSERT INTO ledger_names (text)
    SELECT score FROM ledger UNION SELECT rule_id FROM ledger UNION SELECT op FROM ledger;

-- No foreign keys: a name is never deleted, and each row written would pay for three checks.
ALTER TABLE ledger ADD COLUMN score_ref INTEGER;
ALTER TABLE ledger ADD COLUMN rule_ref INTEGER;
ALTER TABLE ledger ADD COLUMN op_ref INTEGER;
UPDATE ledger SET
    score_ref = (SELECT id FROM ledger_names WHERE text = ledger.score),
    rule_ref = (SELECT id FROM ledger_names WHERE text = ledger.rule_id),
    op_ref = (SELECT id FROM ledger_names WHERE text = ledger.op);
ALTER TABLE ledger DROP COLUMN score;
ALTER TABLE ledger DROP COLUMN rule_id;
ALTER TABLE ledger DROP COLUMN op;

-- The ledger's columns as they were, in their order (exports read "SELECT *").  LEFT JOINs keep the
-- ledger the outer table of every plan, read by its own indexes.
CREATE VIEW ledger_rows AS
    SELECT l.id, l.person_id, s.text AS score, r.text AS rule_id, l.event_id, o.text AS op, l.points,
        l.before, l.after, l.ts, l.rescored_by
    FROM ledger l LEFT JOIN ledger_names s ON s.id = l.score_ref LEFT JOIN ledger_names r ON r.id = l.rule_ref
        LEFT JOIN ledger_names o ON o.id = l.op_ref;
