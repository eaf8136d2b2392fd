-- Counts made up to a cap (board columns' totals and weighted value, list views' counts)
-- read only the stage indexes (index-only scans), now carrying each lead's junk verdict and
-- won chance: through the indexes as they were, counting 10,000 leads of a rep's stage
-- fetched each row. The same indexes still give a stage's leads best score first.
DROP INDEX leads_owner_stage_score;
CREATE INDEX leads_owner_stage_score ON leads (owner, stage, COALESCE(score, -1e15), id) INCLUDE (junk, priority);
DROP INDEX leads_stage_score;
CREATE INDEX leads_stage_score ON leads (stage, COALESCE(score, -1e15), id) INCLUDE (junk, priority);

-- The analytics page's drift table reads the closed leads that were predicted while open:
-- without this it read every lead (330 ms at a million, most of them neither).
CREATE INDEX leads_drift ON leads (created_at, owner, channel, outcome, probability)
    WHERE probability IS NOT NULL AND outcome IN ('won', 'lost');
