-- Indexes in the order the dashboard reads leads: a rep's inbox (by priority, or by score
-- before any model exists) and a stage's leads by score (board columns, "MQLs by score").
-- The expressions are the list query's sort keys, so the first page comes straight off
-- the index instead of sorting every matching lead.
CREATE INDEX leads_owner_priority ON leads (owner, COALESCE(priority, -1e15), id);
CREATE INDEX leads_owner_score ON leads (owner, COALESCE(score, -1e15), id);
CREATE INDEX leads_stage_score ON leads (stage, COALESCE(score, -1e15), id);

-- Search ("contains") on PostgreSQL through trigrams, where the server offers pg_trgm and
-- lets this user add it; without it search still works, by scanning.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX leads_search_trgm ON leads USING gin (search_text gin_trgm_ops);
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_trgm not available to this user: lead search scans';
END
$$;
