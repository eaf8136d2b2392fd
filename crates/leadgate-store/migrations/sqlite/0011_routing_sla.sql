-- Times are integer microseconds, UTC.
-- Sales teams with their business-hours calendar and manager, and their reps.
CREATE TABLE teams (
    name        TEXT PRIMARY KEY,
    calendar    TEXT NOT NULL,
    manager     TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE reps (
    name              TEXT PRIMARY KEY,
    team              TEXT NOT NULL REFERENCES teams (name),
    email             TEXT,
    weight            REAL NOT NULL DEFAULT 1,
    daily_cap         INTEGER,
    away              BOOLEAN NOT NULL DEFAULT FALSE,
    -- Assignments on the team's current day, for caps and weighted shares.
    assigned_day      TEXT,
    assigned_today    INTEGER NOT NULL DEFAULT 0,
    last_assigned_at  INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX reps_team ON reps (team);

-- SLA clocks: one per lead per timed stage entry (and per reassignment), with the rule as it
-- was when the clock started, so a policy change does not move running deadlines.
CREATE TABLE sla_clocks (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id             INTEGER NOT NULL REFERENCES leads (id),
    rule                TEXT NOT NULL,
    stage               TEXT NOT NULL,
    until_event         TEXT NOT NULL,
    within              TEXT NOT NULL,
    on_breach           TEXT NOT NULL DEFAULT '[]',
    recycle_after_days  INTEGER,
    owner               TEXT,
    team                TEXT,
    temperature         TEXT,
    channel             TEXT,
    policy_version      INTEGER NOT NULL,
    started_at          INTEGER NOT NULL,
    due_at              INTEGER NOT NULL,
    met_at              INTEGER,
    breached_at         INTEGER,
    state               TEXT NOT NULL
);
CREATE INDEX sla_clocks_lead ON sla_clocks (lead_id, id);
CREATE INDEX sla_clocks_owner ON sla_clocks (owner, state, due_at);
CREATE INDEX sla_clocks_started ON sla_clocks (started_at);
