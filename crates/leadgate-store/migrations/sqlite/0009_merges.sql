-- Duplicate people: merges done (automatically or by a person) and suggested, with what is
-- needed to undo them: the leads moved and the kept person's fields before. A merged person
-- keeps its row, pointing at the one it was merged into.
CREATE TABLE merges (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kept_person    INTEGER NOT NULL,
    merged_person  INTEGER NOT NULL,
    score          REAL NOT NULL,
    reasons        TEXT NOT NULL,
    status         TEXT NOT NULL,
    moved_leads    TEXT NOT NULL DEFAULT '[]',
    kept_before    TEXT,
    created_at     INTEGER NOT NULL,
    decided_at     INTEGER,
    actor          TEXT
);
CREATE INDEX merges_pair ON merges (kept_person, merged_person);
CREATE INDEX merges_status ON merges (status, id);
ALTER TABLE people ADD COLUMN merged_into INTEGER;
