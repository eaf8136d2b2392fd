-- Leads enrolled in nurture sequences: which step runs next, or why it stopped.
CREATE TABLE sequence_enrolments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id         INTEGER NOT NULL REFERENCES leads (id),
    sequence        TEXT NOT NULL,
    next_step       INTEGER NOT NULL,
    state           TEXT NOT NULL,
    stopped_reason  TEXT,
    enrolled_at     INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- A lead is in a sequence at most once at a time.
CREATE UNIQUE INDEX sequence_active ON sequence_enrolments (lead_id, sequence) WHERE state = 'active';
