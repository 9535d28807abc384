-- SQLite keeps a table whose primary key is not an integer twice: its rows by rowid, and the key
-- in an index of its own.  Score copies are only ever found by their key, so they are stored by it,
-- in one b-tree (issue #13: 7 B an event).  PostgreSQL has no rowid: the token is empty there.
CREATE TABLE person_scores_0018 (
    person_id BIGINT NOT NULL,
    score TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    changed_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (person_id, score)
){without_rowid};
INSERT INTO person_scores_0018 (person_id, score, value, changed_at)
    SELECT person_id, score, value, changed_at FROM person_scores;
DROP TABLE person_scores;
ALTER TABLE person_scores_0018 RENAME TO person_scores;
