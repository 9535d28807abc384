-- Backend identities (Segment's userId) beside e-mails, and idempotent message ids.

ALTER TABLE persons ADD COLUMN user_id TEXT;
CREATE UNIQUE INDEX persons_site_user ON persons (site_id, user_id);

-- A retried Segment batch carries the same messageIds: each is processed once.
CREATE TABLE message_ids (
    site_id BIGINT NOT NULL,
    message_id TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site_id, message_id)
);
CREATE INDEX message_ids_received ON message_ids (received_at);
