-- Webhook subscriptions (per event type) and the log of every delivery attempt. The secret
-- signs deliveries (HMAC-SHA256), so it is kept as given.
CREATE TABLE webhooks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    url          TEXT NOT NULL,
    events       TEXT NOT NULL,
    secret       TEXT NOT NULL,
    description  TEXT,
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id    INTEGER NOT NULL REFERENCES webhooks (id),
    event_id      INTEGER NOT NULL,
    job_id        INTEGER,
    attempt       INTEGER NOT NULL,
    ok            BOOLEAN NOT NULL,
    status        INTEGER,
    error         TEXT,
    response      TEXT,
    duration_ms   INTEGER NOT NULL,
    attempted_at  INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

-- Round-robin order: each assignment takes the next turn in its team (times can tie).
ALTER TABLE reps ADD COLUMN turn INTEGER NOT NULL DEFAULT 0;
