-- A policy applied from the dashboard or the API rescores its product's leads in the
-- background. This row is the pass's cursor and tally: each page of leads advances it in the
-- transaction that stores the page's scores and moves, so a server that stops mid-way leaves
-- it where its last page ended and any server carries on from there.
CREATE TABLE policy_rescores (
    id             INTEGER PRIMARY KEY,
    product        TEXT NOT NULL,
    policy_version INTEGER NOT NULL,
    total          INTEGER NOT NULL,
    done           INTEGER NOT NULL DEFAULT 0,
    after_lead     INTEGER NOT NULL DEFAULT 0,
    became_mql     INTEGER NOT NULL DEFAULT 0,
    left_mql       INTEGER NOT NULL DEFAULT 0,
    started_at     INTEGER NOT NULL,
    finished_at    INTEGER
);
CREATE INDEX policy_rescores_open ON policy_rescores (id) WHERE finished_at IS NULL;
CREATE INDEX policy_rescores_product ON policy_rescores (product, id);
