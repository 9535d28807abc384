-- Abuse resistance: devices caught as bots, and the traffic ignored as bot or internal,
-- counted per site, UTC day and reason.  (A site's internal address ranges are one more
-- key of sites.settings: no column.)

-- Why the device was caught as a bot (e.g. "too-fast"), NULL for a human.  A device
-- flagged once is never scored again, on any instance.
ALTER TABLE visitors ADD COLUMN bot TEXT;

-- Ignored traffic is counted here rather than stored: one row per site, day and reason.
CREATE TABLE ignored_traffic (
    site_id BIGINT NOT NULL,
    day TEXT NOT NULL,
    reason TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    events BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, day, reason)
);
