-- Leads inserted or deleted are rolled up once per statement, not row by row: an import
-- batch of 2,000 leads appends a few grouped rows to `analytics_changes` and
-- `open_lead_changes` instead of running two PL/pgSQL functions and up to 4,000 inserts.
-- Updates keep their row triggers (they fire only when a rolled-up column changed).
DROP TRIGGER leads_rollup_insert_delete ON leads;
DROP TRIGGER leads_open_insert_delete ON leads;

CREATE FUNCTION leads_track_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sign INTEGER := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    INSERT INTO analytics_changes (month, kind, channel, source_class, campaign, junk, band,
        stage, reached, outcome, reason, hours, leads, won_value)
    SELECT f.month, f.kind, f.channel, f.source_class, f.campaign, f.junk, f.band, f.stage,
        f.reached, f.outcome, f.reason, f.hours, sign * COUNT(*), sign * SUM(f.won_value)
    FROM changed_leads l, analytics_facts(l) f
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;
    INSERT INTO open_lead_changes (owner, leads)
    SELECT owner, sign * COUNT(*) FROM changed_leads
    WHERE owner IS NOT NULL AND stage NOT IN ('customer', 'disqualified', 'recycled')
    GROUP BY owner;
    RETURN NULL;
END
$$;

CREATE TRIGGER leads_rollup_inserted AFTER INSERT ON leads
    REFERENCING NEW TABLE AS changed_leads
    FOR EACH STATEMENT EXECUTE FUNCTION leads_track_statement();
CREATE TRIGGER leads_rollup_deleted AFTER DELETE ON leads
    REFERENCING OLD TABLE AS changed_leads
    FOR EACH STATEMENT EXECUTE FUNCTION leads_track_statement();
