-- Qualification: versioned policies, BANT confirmations, and each lead's latest score.

CREATE TABLE policies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    product     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    name        TEXT NOT NULL,
    document    TEXT NOT NULL,
    author      TEXT NOT NULL,
    message     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (product, version)
);

ALTER TABLE leads ADD COLUMN product TEXT NOT NULL DEFAULT 'default';
ALTER TABLE leads ADD COLUMN bant_confirmed TEXT NOT NULL DEFAULT '[]';
ALTER TABLE leads ADD COLUMN score REAL;
ALTER TABLE leads ADD COLUMN grade TEXT;
ALTER TABLE leads ADD COLUMN temperature TEXT;
ALTER TABLE leads ADD COLUMN policy_version INTEGER;
ALTER TABLE leads ADD COLUMN scored_at INTEGER;
CREATE INDEX leads_score ON leads (score, id);
CREATE INDEX leads_grade ON leads (grade, id);
CREATE INDEX leads_product ON leads (product, id);
