-- Each owner's open leads (any stage but customer, disqualified, recycled), kept as leads
-- change owner and stage, so least-loaded routing reads a number per rep instead of
-- counting a rep's leads on every decision. As on PostgreSQL (where it keeps concurrent
-- writers from contending), triggers append +1/-1 to `open_lead_changes`;
-- `Store::fold_open_leads` folds them into `open_leads` now and then, and reads add the
-- unfolded changes.
CREATE TABLE open_leads (
    owner TEXT PRIMARY KEY,
    leads INTEGER NOT NULL
);

CREATE TABLE open_lead_changes (
    owner TEXT NOT NULL,
    leads INTEGER NOT NULL
);
CREATE INDEX open_lead_changes_owner ON open_lead_changes (owner);

CREATE TRIGGER leads_open_insert AFTER INSERT ON leads
WHEN NEW.owner IS NOT NULL AND NEW.stage NOT IN ('customer', 'disqualified', 'recycled')
BEGIN
    INSERT INTO open_lead_changes (owner, leads) VALUES (NEW.owner, 1);
END;

CREATE TRIGGER leads_open_delete AFTER DELETE ON leads
WHEN OLD.owner IS NOT NULL AND OLD.stage NOT IN ('customer', 'disqualified', 'recycled')
BEGIN
    INSERT INTO open_lead_changes (owner, leads) VALUES (OLD.owner, -1);
END;

-- Only when the owner or the lead's openness changed (a move from lead to MQL does not).
CREATE TRIGGER leads_open_update AFTER UPDATE OF owner, stage ON leads
WHEN OLD.owner IS NOT NEW.owner
    OR (OLD.stage NOT IN ('customer', 'disqualified', 'recycled'))
        <> (NEW.stage NOT IN ('customer', 'disqualified', 'recycled'))
BEGIN
    INSERT INTO open_lead_changes (owner, leads)
    SELECT OLD.owner, -1 WHERE OLD.owner IS NOT NULL
        AND OLD.stage NOT IN ('customer', 'disqualified', 'recycled');
    INSERT INTO open_lead_changes (owner, leads)
    SELECT NEW.owner, 1 WHERE NEW.owner IS NOT NULL
        AND NEW.stage NOT IN ('customer', 'disqualified', 'recycled');
END;

INSERT INTO open_leads (owner, leads)
SELECT owner, COUNT(*) FROM leads
WHERE owner IS NOT NULL AND stage NOT IN ('customer', 'disqualified', 'recycled')
GROUP BY owner;
