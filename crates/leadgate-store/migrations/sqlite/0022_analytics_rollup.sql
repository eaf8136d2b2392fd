-- Analytics rolled up per creation month, so the analytics page reads a few thousand rows
-- however many leads there are. `analytics_rollup` holds counts; triggers on `leads` append
-- each change (a lead leaving one cell, entering another) to `analytics_changes`, which
-- never contends between writers; `Store::fold_analytics` folds the changes into the rollup
-- now and then, and reads add the unfolded changes, so the figures are always current.
--
-- One row shape for every kind, with '' / -1 / 0 where a kind does not use a column:
--   cell        a group of leads alike in month, channel, class, campaign, junk, score band,
--               stage, funnel step reached and outcome (with the sum of their won value);
--   stay        leads that spent `hours` in timed `stage`;
--   disqualified, recycled, lost
--               leads whose last such reason was `reason`.
CREATE TABLE analytics_rollup (
    month        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    channel      TEXT NOT NULL DEFAULT '',
    source_class TEXT NOT NULL DEFAULT '',
    campaign     TEXT NOT NULL DEFAULT '',
    junk         INTEGER NOT NULL DEFAULT 0,
    band         INTEGER NOT NULL DEFAULT -1,
    stage        TEXT NOT NULL DEFAULT '',
    reached      INTEGER NOT NULL DEFAULT 0,
    outcome      TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT '',
    hours        REAL NOT NULL DEFAULT 0,
    leads        INTEGER NOT NULL,
    won_value    REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (month, kind, channel, source_class, campaign, junk, band, stage, reached,
        outcome, reason, hours)
);

CREATE TABLE analytics_changes (
    month        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    channel      TEXT NOT NULL DEFAULT '',
    source_class TEXT NOT NULL DEFAULT '',
    campaign     TEXT NOT NULL DEFAULT '',
    junk         INTEGER NOT NULL DEFAULT 0,
    band         INTEGER NOT NULL DEFAULT -1,
    stage        TEXT NOT NULL DEFAULT '',
    reached      INTEGER NOT NULL DEFAULT 0,
    outcome      TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT '',
    hours        REAL NOT NULL DEFAULT 0,
    leads        INTEGER NOT NULL,
    won_value    REAL NOT NULL DEFAULT 0
);

-- The score band as core's `analytics::band_of` says it (-1: not scored) is spelled out in
-- each trigger below, since SQLite has no functions of its own.

CREATE TRIGGER leads_rollup_insert AFTER INSERT ON leads
BEGIN
    INSERT INTO analytics_changes (month, kind, channel, source_class, campaign, junk, band,
        stage, reached, outcome, leads, won_value)
    VALUES (strftime('%Y-%m', NEW.created_at / 1000000, 'unixepoch'), 'cell', NEW.channel,
        NEW.source_class, COALESCE(NEW.campaign, ''), NEW.junk <> '',
        CASE WHEN NEW.score IS NULL THEN -1 WHEN NEW.score < 20 THEN 0 WHEN NEW.score < 40 THEN 1
            WHEN NEW.score < 60 THEN 2 WHEN NEW.score < 80 THEN 3 ELSE 4 END,
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

CREATE TRIGGER leads_rollup_delete AFTER DELETE ON leads
BEGIN
    INSERT INTO analytics_changes (month, kind, channel, source_class, campaign, junk, band,
        stage, reached, outcome, leads, won_value)
    VALUES (strftime('%Y-%m', OLD.created_at / 1000000, 'unixepoch'), 'cell', OLD.channel,
        OLD.source_class, COALESCE(OLD.campaign, ''), OLD.junk <> '',
        CASE WHEN OLD.score IS NULL THEN -1 WHEN OLD.score < 20 THEN 0 WHEN OLD.score < 40 THEN 1
            WHEN OLD.score < 60 THEN 2 WHEN OLD.score < 80 THEN 3 ELSE 4 END,
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

-- A lead moving between cells (most updates, such as a new score in the same band, do not).
CREATE TRIGGER leads_rollup_cell AFTER UPDATE OF created_at, channel, source_class, campaign,
    junk, score, stage, reached, outcome, won_value ON leads
WHEN (strftime('%Y-%m', OLD.created_at / 1000000, 'unixepoch'), OLD.channel, OLD.source_class,
        COALESCE(OLD.campaign, ''), OLD.junk <> '',
        CASE WHEN OLD.score IS NULL THEN -1 WHEN OLD.score < 20 THEN 0 WHEN OLD.score < 40 THEN 1
            WHEN OLD.score < 60 THEN 2 WHEN OLD.score < 80 THEN 3 ELSE 4 END,
        OLD.stage, OLD.reached, COALESCE(OLD.outcome, ''), OLD.won_value)
    IS NOT (strftime('%Y-%m', NEW.created_at / 1000000, 'unixepoch'), NEW.channel,
        NEW.source_class, COALESCE(NEW.campaign, ''), NEW.junk <> '',
        CASE WHEN NEW.score IS NULL THEN -1 WHEN NEW.score < 20 THEN 0 WHEN NEW.score < 40 THEN 1
            WHEN NEW.score < 60 THEN 2 WHEN NEW.score < 80 THEN 3 ELSE 4 END,
        NEW.stage, NEW.reached, COALESCE(NEW.outcome, ''), NEW.won_value)
BEGIN
    INSERT INTO analytics_changes (month, kind, channel, source_class, campaign, junk, band,
        stage, reached, outcome, leads, won_value)
    VALUES (strftime('%Y-%m', OLD.created_at / 1000000, 'unixepoch'), 'cell', OLD.channel,
        OLD.source_class, COALESCE(OLD.campaign, ''), OLD.junk <> '',
        CASE WHEN OLD.score IS NULL THEN -1 WHEN OLD.score < 20 THEN 0 WHEN OLD.score < 40 THEN 1
            WHEN OLD.score < 60 THEN 2 WHEN OLD.score < 80 THEN 3 ELSE 4 END,
        OLD.stage, OLD.reached, COALESCE(OLD.outcome, ''), -1, -OLD.won_value),
        (strftime('%Y-%m', NEW.created_at / 1000000, 'unixepoch'), 'cell', NEW.channel,
        NEW.source_class, COALESCE(NEW.campaign, ''), NEW.junk <> '',
        CASE WHEN NEW.score IS NULL THEN -1 WHEN NEW.score < 20 THEN 0 WHEN NEW.score < 40 THEN 1
            WHEN NEW.score < 60 THEN 2 WHEN NEW.score < 80 THEN 3 ELSE 4 END,
        NEW.stage, NEW.reached, COALESCE(NEW.outcome, ''), 1, NEW.won_value);
END;

-- Stage times and reasons that changed (or all of them, if the creation month did).
CREATE TRIGGER leads_rollup_journey AFTER UPDATE OF created_at, hours_lead, hours_mql, hours_sal,
    hours_sql, hours_opportunity, disqualified_reason, recycled_reason, lost_reason ON leads
BEGIN
    INSERT INTO analytics_changes (month, kind, stage, hours, leads)
    SELECT strftime('%Y-%m', OLD.created_at / 1000000, 'unixepoch'), 'stay', what, was, -1
    FROM (SELECT 'lead' AS what, OLD.hours_lead AS was, NEW.hours_lead AS now
        UNION ALL SELECT 'mql', OLD.hours_mql, NEW.hours_mql
        UNION ALL SELECT 'sal', OLD.hours_sal, NEW.hours_sal
        UNION ALL SELECT 'sql', OLD.hours_sql, NEW.hours_sql
        UNION ALL SELECT 'opportunity', OLD.hours_opportunity, NEW.hours_opportunity)
    WHERE was IS NOT NULL AND (was IS NOT now OR OLD.created_at <> NEW.created_at);
    INSERT INTO analytics_changes (month, kind, stage, hours, leads)
    SELECT strftime('%Y-%m', NEW.created_at / 1000000, 'unixepoch'), 'stay', what, now, 1
    FROM (SELECT 'lead' AS what, OLD.hours_lead AS was, NEW.hours_lead AS now
        UNION ALL SELECT 'mql', OLD.hours_mql, NEW.hours_mql
        UNION ALL SELECT 'sal', OLD.hours_sal, NEW.hours_sal
        UNION ALL SELECT 'sql', OLD.hours_sql, NEW.hours_sql
        UNION ALL SELECT 'opportunity', OLD.hours_opportunity, NEW.hours_opportunity)
    WHERE now IS NOT NULL AND (was IS NOT now OR OLD.created_at <> NEW.created_at);
    INSERT INTO analytics_changes (month, kind, reason, leads)
    SELECT strftime('%Y-%m', OLD.created_at / 1000000, 'unixepoch'), what, was, -1
    FROM (SELECT 'disqualified' AS what, OLD.disqualified_reason AS was, NEW.disqualified_reason AS now
        UNION ALL SELECT 'recycled', OLD.recycled_reason, NEW.recycled_reason
        UNION ALL SELECT 'lost', OLD.lost_reason, NEW.lost_reason)
    WHERE was IS NOT NULL AND (was IS NOT now OR OLD.created_at <> NEW.created_at);
    INSERT INTO analytics_changes (month, kind, reason, leads)
    SELECT strftime('%Y-%m', NEW.created_at / 1000000, 'unixepoch'), what, now, 1
    FROM (SELECT 'disqualified' AS what, OLD.disqualified_reason AS was, NEW.disqualified_reason AS now
        UNION ALL SELECT 'recycled', OLD.recycled_reason, NEW.recycled_reason
        UNION ALL SELECT 'lost', OLD.lost_reason, NEW.lost_reason)
    WHERE now IS NOT NULL AND (was IS NOT now OR OLD.created_at <> NEW.created_at);
END;

-- The leads already stored, rolled up as the triggers would have.
INSERT INTO analytics_rollup (month, kind, channel, source_class, campaign, junk, band, stage,
    reached, outcome, leads, won_value)
SELECT strftime('%Y-%m', created_at / 1000000, 'unixepoch'), 'cell', channel, source_class,
    COALESCE(campaign, ''), junk <> '',
    CASE WHEN score IS NULL THEN -1 WHEN score < 20 THEN 0 WHEN score < 40 THEN 1
        WHEN score < 60 THEN 2 WHEN score < 80 THEN 3 ELSE 4 END,
    stage, reached, COALESCE(outcome, ''), COUNT(*), SUM(won_value)
FROM leads GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;
INSERT INTO analytics_rollup (month, kind, stage, hours, leads)
SELECT month, 'stay', stage, hours, COUNT(*) FROM (
    SELECT strftime('%Y-%m', created_at / 1000000, 'unixepoch') AS month, 'lead' AS stage,
        hours_lead AS hours FROM leads WHERE hours_lead IS NOT NULL
    UNION ALL SELECT strftime('%Y-%m', created_at / 1000000, 'unixepoch'), 'mql', hours_mql
        FROM leads WHERE hours_mql IS NOT NULL
    UNION ALL SELECT strftime('%Y-%m', created_at / 1000000, 'unixepoch'), 'sal', hours_sal
        FROM leads WHERE hours_sal IS NOT NULL
    UNION ALL SELECT strftime('%Y-%m', created_at / 1000000, 'unixepoch'), 'sql', hours_sql
        FROM leads WHERE hours_sql IS NOT NULL
    UNION ALL SELECT strftime('%Y-%m', created_at / 1000000, 'unixepoch'), 'opportunity',
        hours_opportunity FROM leads WHERE hours_opportunity IS NOT NULL
) GROUP BY 1, 3, 4;
INSERT INTO analytics_rollup (month, kind, reason, leads)
SELECT month, kind, reason, COUNT(*) FROM (
    SELECT strftime('%Y-%m', created_at / 1000000, 'unixepoch') AS month, 'disqualified' AS kind,
        disqualified_reason AS reason FROM leads WHERE disqualified_reason IS NOT NULL
    UNION ALL SELECT strftime('%Y-%m', created_at / 1000000, 'unixepoch'), 'recycled',
        recycled_reason FROM leads WHERE recycled_reason IS NOT NULL
    UNION ALL SELECT strftime('%Y-%m', created_at / 1000000, 'unixepoch'), 'lost', lost_reason
        FROM leads WHERE lost_reason IS NOT NULL
) GROUP BY 1, 2, 3;
