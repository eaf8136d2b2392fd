-- Consent per purpose (the newest row per person and purpose is in force), Do Not Email /
-- Do Not Call on the person, GDPR requests (export, erase) as an audit trail, and the one way
-- an event may change: erasing a person's data from its payload. While an erasure runs, its
-- transaction holds a row in `erasing`; only then does the append-only trigger let an UPDATE
-- through. Deleting events stays impossible.
CREATE TABLE consents (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id    INTEGER NOT NULL REFERENCES people (id),
    purpose      TEXT NOT NULL,
    granted      BOOLEAN NOT NULL,
    wording      TEXT,
    source       TEXT NOT NULL,
    ip           TEXT,
    actor        TEXT NOT NULL,
    recorded_at  INTEGER NOT NULL
);
CREATE INDEX consents_person ON consents (person_id, purpose, id);

ALTER TABLE people ADD COLUMN do_not_email BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE people ADD COLUMN do_not_call BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE people ADD COLUMN erased_at INTEGER;

CREATE TABLE gdpr_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    person_id    INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    summary      TEXT NOT NULL,
    at           INTEGER NOT NULL
);

CREATE TABLE erasing (person_id INTEGER NOT NULL);

DROP TRIGGER events_no_update;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
WHEN NOT EXISTS (SELECT 1 FROM erasing)
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
