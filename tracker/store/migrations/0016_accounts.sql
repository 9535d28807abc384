-- Customer accounts (companies) of a site, their members and their stage transitions.
-- ``key`` says what named the account: "group:<groupId>" (Segment group call), "domain:<e-mail domain>"
-- or "company:<typed company name>"; one account per key and site.  ``scores`` and ``stages`` are what the
-- last refresh computed (services.accounts); ``score`` is the first account score, for listing in order.
CREATE TABLE accounts (
    id {pk},
    site_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    traits TEXT NOT NULL DEFAULT '{}',
    owner TEXT,
    scores TEXT NOT NULL DEFAULT '{}',
    stages TEXT NOT NULL DEFAULT '[]',
    score DOUBLE PRECISION NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE UNIQUE INDEX accounts_site_key ON accounts (site_id, key);
CREATE INDEX accounts_site_score ON accounts (site_id, score, id);

-- A person belongs to at most one account; ``source`` is what placed them (group, domain, company).
CREATE TABLE account_members (
    person_id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    source TEXT NOT NULL,
    joined_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX account_members_account ON account_members (account_id);

-- Each time an account entered a customer stage (renewal_due, upsell, cross_sell, at_risk).
CREATE TABLE account_stages (
    id {pk},
    account_id BIGINT NOT NULL,
    stage TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    event_id BIGINT
);
CREATE INDEX account_stages_account ON account_stages (account_id, id);
