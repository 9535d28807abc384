-- Sales handoff: lead routing (assignments, round-robin turns, owners' availability),
-- webhook subscriptions and the durable outbox their deliveries are sent from.

-- Every routing of a lead, kept as history; active = 1 marks the one in force.  queue,
-- owner and route are names from the programme's [[routes]], never personal data.
CREATE TABLE assignments (
    id {pk},
    site_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    route_id TEXT NOT NULL,
    queue TEXT NOT NULL,
    owner TEXT,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX assignments_active ON assignments (person_id) WHERE active = 1;
CREATE INDEX assignments_person ON assignments (person_id, id);
CREATE INDEX assignments_queue ON assignments (site_id, queue, owner) WHERE active = 1;

-- Round robin in the database, not in a process, so it is fair across instances: the
-- next turn of each queue, read and moved under the row lock of the unit that routes.
CREATE TABLE route_queues (
    site_id BIGINT NOT NULL,
    queue TEXT NOT NULL,
    turn BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, queue)
);

-- Owners marked unavailable (out of office) are skipped by round robin.  An owner with
-- no row is available: owners themselves are listed in the programme.
CREATE TABLE owners (
    site_id BIGINT NOT NULL,
    owner TEXT NOT NULL,
    available INTEGER NOT NULL DEFAULT 1,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site_id, owner)
);

-- Webhook subscriptions: integration settings, not marketing content, so they live here
-- (API and CLI) rather than in the programme.  The secret signs deliveries, so it is
-- kept as is; events is a JSON list of event kinds.
CREATE TABLE webhooks (
    id {pk},
    site_id BIGINT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL DEFAULT '[]',
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX webhooks_site ON webhooks (site_id);

-- The outbox: one row per (subscription, event), written in the same transaction as the
-- change it announces, so it exists exactly when the change does.  data holds ids and
-- programme names only; the person is read when the row is delivered.
-- status: pending | delivered | dead.
CREATE TABLE webhook_outbox (
    id {pk},
    site_id BIGINT NOT NULL,
    webhook_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    event TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    occurred_at DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    delivered_at DOUBLE PRECISION
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_attempt_at);
CREATE INDEX webhook_outbox_person ON webhook_outbox (person_id);
CREATE INDEX webhook_outbox_site ON webhook_outbox (site_id, status, id);
CREATE INDEX webhook_outbox_webhook ON webhook_outbox (webhook_id);
