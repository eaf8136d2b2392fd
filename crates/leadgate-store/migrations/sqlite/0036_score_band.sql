-- A lead's score band is stored beside its score, from core's `analytics::band_of`: the store
-- writes both, so the rollup's triggers copy a column instead of spelling the rule out (it
-- was written into each of them). Scores stored before this migration get their band here,
-- by the rule as it stood; a later change of the rule is a rescore, which writes the bands.
ALTER TABLE leads ADD COLUMN score_band INTEGER NOT NULL DEFAULT -1;
UPDATE leads SET score_band = CASE WHEN score < 20 THEN 0 WHEN score < 40 THEN 1
    WHEN score < 60 THEN 2 WHEN score < 80 THEN 3 ELSE 4 END
WHERE score IS NOT NULL;

-- Analytics read the band, not the score, from their covering index.
DROP INDEX leads_analytics;
CREATE INDEX leads_analytics ON leads (created_at, owner, channel, source_class, campaign, junk,
    score_band, stage, reached, outcome, won_value);

DROP TRIGGER leads_rollup_insert;
DROP TRIGGER leads_rollup_delete;
DROP TRIGGER leads_rollup_cell;

CREATE TRIGGER leads_rollup_delete AFTER DELETE ON leads
BEGIN
    INSERT INTO analytics_changes (month, kind, channel, source_class, campaign, junk, band,
        stage, reached, outcome, leads, won_value)
    VALUES (strftime('%Y-%m', OLD.created_at / 1000000, 'unixepoch'), 'cell', OLD.channel,
        OLD.source_class, COALESCE(OLD.campaign, ''), OLD.junk <> '',
        OLD.score_band,
        OLD.stage, OLD.reached, COALESCE(OLD.outcome, ''), -1, -OLD.won_value);
    INSERT INTO analytics_changes (month, kind, stage, hours, leads)
    SELECT strftime('%Y-%m', OLD.created_at / 1000000, 'unixepoch'), 'stay', what, value, -1
    FROM (SELECT 'lead' AS what, OLD.hours_lead AS value
        UNION ALL SELECT 'mql', OLD.hours_mql
        UNION ALL SELECT 'sal', OLD.hours_sal
        UNION ALL SELECT 'sql', OLD.hours_sql
        UNION ALL SELECT 'opportunity', OLD.hours_opportunity)
    WHERE value IS NOT NULL;
    INSERT INTO analytics_changes (month, kind, reason, leads)
    SELECT strftime('%Y-%m', OLD.created_at / 1000000, 'unixepoch'), what, value, -1
    FROM (SELECT 'disqualified' AS what, OLD.disqualified_reason AS value
        UNION ALL SELECT 'recycled', OLD.recycled_reason
        UNION ALL SELECT 'lost', OLD.lost_reason)
    WHERE value IS NOT NULL;
END;
CREATE TRIGGER leads_rollup_insert AFTER INSERT ON leads
BEGIN
    INSERT INTO analytics_changes (month, kind, channel, source_class, campaign, junk, band,
        stage, reached, outcome, leads, won_value)
    VALUES (strftime('%Y-%m', NEW.created_at / 1000000, 'unixepoch'), 'cell', NEW.channel,
        NEW.source_class, COALESCE(NEW.campaign, ''), NEW.junk <> '',
        NEW.score_band,
        NEW.stage, NEW.reached, COALESCE(NEW.outcome, ''), 1, NEW.won_value);
    INSERT INTO analytics_changes (month, kind, stage, hours, leads)
    SELECT strftime('%Y-%m', NEW.created_at / 1000000, 'unixepoch'), 'stay', what, value, 1
    FROM (SELECT 'lead' AS what, NEW.hours_lead AS value
        UNION ALL SELECT 'mql', NEW.hours_mql
        UNION ALL SELECT 'sal', NEW.hours_sal
        UNION ALL SELECT 'sql', NEW.hours_sql
        UNION ALL SELECT 'opportunity', NEW.hours_opportunity)
    WHERE value IS NOT NULL;
    INSERT INTO analytics_changes (month, kind, reason, leads)
    SELECT strftime('%Y-%m', NEW.created_at / 1000000, 'unixepoch'), what, value, 1
    FROM (SELECT 'disqualified' AS what, NEW.disqualified_reason AS value
        UNION ALL SELECT 'recycled', NEW.recycled_reason
        UNION ALL SELECT 'lost', NEW.lost_reason)
    WHERE value IS NOT NULL;
END;
CREATE TRIGGER leads_rollup_cell AFTER UPDATE OF created_at, channel, source_class, campaign,
    junk, score_band, stage, reached, outcome, won_value ON leads
WHEN (strftime('%Y-%m', OLD.created_at / 1000000, 'unixepoch'), OLD.channel, OLD.source_class,
        COALESCE(OLD.campaign, ''), OLD.junk <> '',
        OLD.score_band,
        OLD.stage, OLD.reached, COALESCE(OLD.outcome, ''), OLD.won_value)
    IS NOT (strftime('%Y-%m', NEW.created_at / 1000000, 'unixepoch'), NEW.channel,
        NEW.source_class, COALESCE(NEW.campaign, ''), NEW.junk <> '',
        NEW.score_band,
        NEW.stage, NEW.reached, COALESCE(NEW.outcome, ''), NEW.won_value)
BEGIN
    INSERT INTO analytics_changes (month, kind, channel, source_class, campaign, junk, band,
        stage, reached, outcome, leads, won_value)
    VALUES (strftime('%Y-%m', OLD.created_at / 1000000, 'unixepoch'), 'cell', OLD.channel,
        OLD.source_class, COALESCE(OLD.campaign, ''), OLD.junk <> '',
        OLD.score_band,
        OLD.stage, OLD.reached, COALESCE(OLD.outcome, ''), -1, -OLD.won_value),
        (strftime('%Y-%m', NEW.created_at / 1000000, 'unixepoch'), 'cell', NEW.channel,
        NEW.source_class, COALESCE(NEW.campaign, ''), NEW.junk <> '',
        NEW.score_band,
        NEW.stage, NEW.reached, COALESCE(NEW.outcome, ''), 1, NEW.won_value);
END;

