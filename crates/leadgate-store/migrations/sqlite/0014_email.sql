-- Email templates and the outbox. An email is marked `sending` (committed) before it goes
-- to the SMTP server; an attempt that finds it still `sending` knows an earlier attempt
-- died between sending and marking, and marks it `uncertain` instead of sending it twice.
CREATE TABLE email_templates (
    name        TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE emails (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id     INTEGER NOT NULL REFERENCES leads (id),
    template    TEXT,
    to_address  TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    state       TEXT NOT NULL,
    message_id  TEXT NOT NULL UNIQUE,
    error       TEXT,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER
);
CREATE INDEX emails_lead ON emails (lead_id, id);
CREATE INDEX emails_state ON emails (state, id);
