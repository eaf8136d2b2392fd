-- Durable jobs: each row is work with a due time. A worker claims due rows (on SQLite the one
-- writer serialises claims) under a lease with a random token; finishing checks the token in
-- the same transaction as the job's effects, so a job whose worker died runs again elsewhere
-- and its effects are stored once. Times are integer microseconds, UTC.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL DEFAULT '{}',
    key           TEXT UNIQUE,
    state         TEXT NOT NULL,
    due_at        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    last_error    TEXT,
    claimed_by    TEXT,
    claim_token   INTEGER,
    lease_until   INTEGER,
    created_at    INTEGER NOT NULL,
    finished_at   INTEGER
);
CREATE INDEX jobs_due ON jobs (state, due_at);
CREATE INDEX jobs_lease ON jobs (state, lease_until);

-- Every attempt of every job: who ran it, when, and how it ended.
CREATE TABLE job_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id       INTEGER NOT NULL REFERENCES jobs (id),
    attempt      INTEGER NOT NULL,
    worker       TEXT NOT NULL,
    finished_at  INTEGER NOT NULL,
    outcome      TEXT NOT NULL,
    error        TEXT
);
CREATE INDEX job_runs_job ON job_runs (job_id, id);

-- Follow-up tasks on leads.
CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id       INTEGER NOT NULL REFERENCES leads (id),
    type          TEXT NOT NULL,
    title         TEXT NOT NULL,
    notes         TEXT,
    owner         TEXT,
    due_at        INTEGER NOT NULL,
    state         TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    reminded_at   INTEGER,
    completed_at  INTEGER,
    completed_by  TEXT
);
CREATE INDEX tasks_owner ON tasks (owner, state, due_at);
CREATE INDEX tasks_lead ON tasks (lead_id, id);

-- What a person is told in the product (their list of notifications).
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    lead_id     INTEGER REFERENCES leads (id),
    task_id     INTEGER REFERENCES tasks (id),
    message     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    read_at     INTEGER
);
CREATE INDEX notifications_recipient ON notifications (recipient, id);
