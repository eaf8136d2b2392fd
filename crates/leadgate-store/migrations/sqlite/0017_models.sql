-- Conversion models: each trained (or imported) model with its evaluation; one active per
-- product. Leads carry their latest prediction for lists sorted by priority.
CREATE TABLE models (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    product         TEXT NOT NULL,
    status          TEXT NOT NULL,
    format_version  INTEGER NOT NULL,
    algorithm       TEXT NOT NULL,
    trained_on      INTEGER NOT NULL,
    window_from     INTEGER,
    window_to       INTEGER,
    evaluation      TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX models_product ON models (product, id);

-- Fields an import declared as filled in after the outcome: no model learns from them.
CREATE TABLE after_outcome_fields (
    field        TEXT PRIMARY KEY,
    declared_by  TEXT NOT NULL,
    declared_at  INTEGER NOT NULL
);

ALTER TABLE leads ADD COLUMN probability REAL;
ALTER TABLE leads ADD COLUMN expected_value REAL;
ALTER TABLE leads ADD COLUMN priority REAL;
ALTER TABLE leads ADD COLUMN model_id INTEGER;
ALTER TABLE leads ADD COLUMN predicted_at INTEGER;
CREATE INDEX leads_priority ON leads (priority, id);
