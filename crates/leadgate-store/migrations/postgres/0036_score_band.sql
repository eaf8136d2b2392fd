-- A lead's score band is stored beside its score, from core's `analytics::band_of`: the store
-- writes both, so the rollup's function and trigger copy a column instead of spelling the
-- rule out (it was written into each of them). Scores stored before this migration get
-- their band here, by the rule as it stood; a later change of the rule is a rescore, which
-- writes the bands.
ALTER TABLE leads ADD COLUMN score_band INTEGER NOT NULL DEFAULT -1;
-- The rollup's update trigger compares bands computed from the score, which this leaves
-- as they were: it does not fire.
UPDATE leads SET score_band = CASE WHEN score < 20 THEN 0 WHEN score < 40 THEN 1
    WHEN score < 60 THEN 2 WHEN score < 80 THEN 3 ELSE 4 END
WHERE score IS NOT NULL;

-- Analytics read the band, not the score, from their covering index.
DROP INDEX leads_analytics;
CREATE INDEX leads_analytics ON leads (created_at, owner, channel, source_class, campaign, junk,
    score_band, stage, reached, outcome, won_value);

CREATE OR REPLACE FUNCTION analytics_facts(l leads) RETURNS TABLE (
    month TEXT, kind TEXT, channel TEXT, source_class TEXT, campaign TEXT, junk INTEGER,
    band INTEGER, stage TEXT, reached INTEGER, outcome TEXT, reason TEXT,
    hours DOUBLE PRECISION, won_value DOUBLE PRECISION
) LANGUAGE sql STABLE AS $$
    WITH m AS (SELECT to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month)
    SELECT m.month, 'cell', l.channel, l.source_class, COALESCE(l.campaign, ''),
        CASE WHEN l.junk = '' THEN 0 ELSE 1 END, l.score_band,
        l.stage, l.reached, COALESCE(l.outcome, ''), '', 0::DOUBLE PRECISION, l.won_value
    FROM m
    UNION ALL
    SELECT m.month, 'stay', '', '', '', 0, -1, v.stage, 0, '', '', v.hours, 0
    FROM m, (VALUES ('lead', l.hours_lead), ('mql', l.hours_mql), ('sal', l.hours_sal),
        ('sql', l.hours_sql), ('opportunity', l.hours_opportunity)) v(stage, hours)
    WHERE v.hours IS NOT NULL
    UNION ALL
    SELECT m.month, v.kind, '', '', '', 0, -1, '', 0, '', v.reason, 0, 0
    FROM m, (VALUES ('disqualified', l.disqualified_reason), ('recycled', l.recycled_reason),
        ('lost', l.lost_reason)) v(kind, reason)
    WHERE v.reason IS NOT NULL
$$;

DROP TRIGGER leads_rollup_update ON leads;
CREATE TRIGGER leads_rollup_update AFTER UPDATE ON leads FOR EACH ROW
    WHEN (current_setting('leadgate.rollup', true) IS DISTINCT FROM 'statement' AND
        (OLD.created_at, OLD.channel, OLD.source_class, OLD.campaign, OLD.junk, OLD.score_band,
            OLD.stage, OLD.reached, OLD.outcome, OLD.won_value, OLD.hours_lead, OLD.hours_mql,
            OLD.hours_sal, OLD.hours_sql, OLD.hours_opportunity, OLD.disqualified_reason,
            OLD.recycled_reason, OLD.lost_reason)
        IS DISTINCT FROM (NEW.created_at, NEW.channel, NEW.source_class, NEW.campaign, NEW.junk,
            NEW.score_band, NEW.stage, NEW.reached, NEW.outcome, NEW.won_value, NEW.hours_lead,
            NEW.hours_mql, NEW.hours_sal, NEW.hours_sql, NEW.hours_opportunity,
            NEW.disqualified_reason, NEW.recycled_reason, NEW.lost_reason))
    EXECUTE FUNCTION leads_track_analytics();
