-- Campaign experiments: the decision log names the arm each served, held-out, impression,
-- close or conversion row belongs to (NULL outside an experiment), and a campaign's
-- experiment is read back by campaign and action rather than by scanning the log.
ALTER TABLE decisions ADD COLUMN variant TEXT;
CREATE INDEX decisions_campaign ON decisions (campaign, action);
