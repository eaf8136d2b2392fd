-- CSV imports: one row per file imported, with its progress, so a killed import resumes where
-- it stopped and a finished one is not run twice; and the rows each import refused.
CREATE TABLE imports (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name     TEXT NOT NULL,
    file_sha256   TEXT NOT NULL,
    mapping       TEXT NOT NULL,
    actor         TEXT NOT NULL,
    status        TEXT NOT NULL,
    rows_done     INTEGER NOT NULL DEFAULT 0,
    inserted      INTEGER NOT NULL DEFAULT 0,
    updated       INTEGER NOT NULL DEFAULT 0,
    unchanged     INTEGER NOT NULL DEFAULT 0,
    rejected      INTEGER NOT NULL DEFAULT 0,
    outcomes      INTEGER NOT NULL DEFAULT 0,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER
);
CREATE INDEX imports_file ON imports (file_sha256, id);

CREATE TABLE import_rejects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    import_id   INTEGER NOT NULL REFERENCES imports (id),
    row_number  INTEGER NOT NULL,
    col         TEXT NOT NULL,
    reason      TEXT NOT NULL
);
CREATE INDEX import_rejects_import ON import_rejects (import_id, row_number);
