-- The analytics rollup and the reps' open-lead counts are kept by the store: each write of
-- a lead appends what it changed (from core's `analytics::Counted::facts` and
-- `lifecycle::in_hand`) in its own transaction, so the rule of what a lead counts for is
-- written once, in Rust. The triggers that spelled it out in SQL go; the counts they kept
-- are right as they stand. Triggers remain only where the database must refuse (events
-- are append-only).
DROP TRIGGER leads_rollup_update ON leads;
DROP TRIGGER leads_rollup_update_statement ON leads;
DROP TRIGGER leads_rollup_inserted ON leads;
DROP TRIGGER leads_rollup_deleted ON leads;
DROP TRIGGER leads_open_update ON leads;
DROP FUNCTION leads_track_analytics();
DROP FUNCTION leads_track_update_statement();
DROP FUNCTION leads_track_statement();
DROP FUNCTION leads_track_open();
DROP FUNCTION analytics_facts(leads);
