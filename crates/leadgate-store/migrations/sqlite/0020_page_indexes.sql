-- Indexes in the order the dashboard reads leads: a rep's inbox (by priority, or by score
-- before any model exists) and a stage's leads by score (board columns, "MQLs by score").
-- The expressions are the list query's sort keys, so the first page comes straight off
-- the index instead of sorting every matching lead.
CREATE INDEX leads_owner_priority ON leads (owner, COALESCE(priority, -1e15), id);
CREATE INDEX leads_owner_score ON leads (owner, COALESCE(score, -1e15), id);
CREATE INDEX leads_stage_score ON leads (stage, COALESCE(score, -1e15), id);
