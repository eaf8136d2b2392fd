-- Each lead's journey, kept on the lead so analytics read one row per lead and no events:
-- the furthest funnel step reached (0 none .. 4 won), the last outcome (won/lost), the
-- value of won deals, the last reasons it was disqualified, recycled or lost, and the
-- hours it spent in each timed stage (two significant figures). Recomputed from the lead's
-- moves and outcomes whenever one is stored.
ALTER TABLE leads ADD COLUMN reached INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN outcome TEXT;
ALTER TABLE leads ADD COLUMN won_value REAL NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN disqualified_reason TEXT;
ALTER TABLE leads ADD COLUMN recycled_reason TEXT;
ALTER TABLE leads ADD COLUMN lost_reason TEXT;
ALTER TABLE leads ADD COLUMN hours_lead REAL;
ALTER TABLE leads ADD COLUMN hours_mql REAL;
ALTER TABLE leads ADD COLUMN hours_sal REAL;
ALTER TABLE leads ADD COLUMN hours_sql REAL;
ALTER TABLE leads ADD COLUMN hours_opportunity REAL;

-- Work the store does once after a migration, on the next connect (here: computing the
-- journeys of leads stored before this migration from their events).
CREATE TABLE store_chores (name TEXT PRIMARY KEY);
INSERT INTO store_chores (name) VALUES ('rebuild_journeys');
