-- Counts made up to a cap (board columns' totals and weighted value, list views' counts)
-- read only the stage indexes, now carrying each lead's junk verdict and won chance: through
-- the indexes as they were, counting 10,000 leads of a rep's stage looked up each row, 30 ms
-- a rep and column at a million leads (the board 2.3 s at p95). The columns come last, so
-- the same indexes still give a stage's leads best score first (a separate counting index
-- took the lists' plans over and sorted whole stages).
DROP INDEX leads_owner_stage_score;
CREATE INDEX leads_owner_stage_score ON leads (owner, stage, COALESCE(score, -1e15), id, junk, priority);
DROP INDEX leads_stage_score;
CREATE INDEX leads_stage_score ON leads (stage, COALESCE(score, -1e15), id, junk, priority);

-- The analytics page's drift table reads the closed leads that were predicted while open:
-- without this it read every lead (330 ms at a million, most of them neither).
CREATE INDEX leads_drift ON leads (created_at, owner, channel, outcome, probability)
    WHERE probability IS NOT NULL AND outcome IN ('won', 'lost');
