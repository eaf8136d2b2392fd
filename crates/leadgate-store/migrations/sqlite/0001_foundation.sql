-- Leadgate foundation schema (SQLite). Times are integer microseconds since the Unix epoch, UTC.

CREATE TABLE companies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT,
    name_key    TEXT,
    industry    TEXT,
    size        INTEGER,
    website     TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX companies_name_key ON companies (name_key);

CREATE TABLE people (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name  TEXT,
    last_name   TEXT,
    email       TEXT,
    email_key   TEXT UNIQUE,
    phone       TEXT,
    job_title   TEXT,
    country     TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE leads (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id           INTEGER NOT NULL REFERENCES people (id),
    company_id          INTEGER REFERENCES companies (id),
    external_id         TEXT UNIQUE,
    stage               TEXT NOT NULL,
    owner               TEXT,
    product_need        TEXT,
    budget              REAL,
    purchase_timeframe  TEXT,
    current_solution    TEXT,
    pains               TEXT,
    custom              TEXT NOT NULL DEFAULT '{}',
    channel             TEXT NOT NULL,
    source_class        TEXT NOT NULL,
    campaign            TEXT,
    first_touch         TEXT NOT NULL,
    last_touch          TEXT NOT NULL,
    search_text         TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX leads_person ON leads (person_id);
CREATE INDEX leads_company ON leads (company_id);
CREATE INDEX leads_stage ON leads (stage, id);
CREATE INDEX leads_channel ON leads (channel, id);
CREATE INDEX leads_owner ON leads (owner, id);
CREATE INDEX leads_created ON leads (created_at, id);
CREATE INDEX leads_updated ON leads (updated_at, id);

CREATE TABLE events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id          INTEGER NOT NULL REFERENCES leads (id),
    type             TEXT NOT NULL,
    occurred_at      INTEGER NOT NULL,
    recorded_at      INTEGER NOT NULL,
    source           TEXT,
    actor            TEXT,
    payload          TEXT NOT NULL DEFAULT '{}',
    idempotency_key  TEXT UNIQUE
);
CREATE INDEX events_lead_time ON events (lead_id, occurred_at);

-- The event log is append-only: history is never rewritten.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL UNIQUE,
    key_hash      TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);
