-- Privacy (GDPR / ePrivacy): per-site settings, truncated IP addresses, the audit log.

-- Per-site settings as a JSON object (consent mode, DNT and GPC handling, IP mode,
-- retention days).  A key a site never set takes its default in code, so existing
-- sites need no backfill.
ALTER TABLE sites ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';

-- Never a full address: /24 of an IPv4 or /48 of an IPv6 address, and only for a site
-- whose setting asks for it (the default drops the address).
ALTER TABLE visitors ADD COLUMN ip_prefix TEXT;

-- Who exported, erased or purged what, and when.  subject is a person id, never an
-- e-mail; detail holds counts and options, no personal data, so the log can outlive
-- the people it mentions.  actor is "key:<api key id>", "cli" or "scheduler".
CREATE TABLE audit_log (
    id {pk},
    site_id BIGINT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject BIGINT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_site_at ON audit_log (site_id, at);
