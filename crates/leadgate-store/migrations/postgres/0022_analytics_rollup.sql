-- Analytics rolled up per creation month, so the analytics page reads a few thousand rows
-- however many leads there are. `analytics_rollup` holds counts; a trigger on `leads`
-- appends each change (a lead leaving one cell, entering another) to `analytics_changes`,
-- which never contends between writers (no shared counter row is locked, so concurrent
-- imports cannot deadlock on it); `Store::fold_analytics` folds the changes into the rollup
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
    hours        DOUBLE PRECISION NOT NULL DEFAULT 0,
    leads        BIGINT NOT NULL,
    won_value    DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (month, kind, channel, source_class, campaign, junk, band, stage, reached,
        outcome, reason, hours)
);

CREATE TABLE analytics_changes (LIKE analytics_rollup INCLUDING DEFAULTS);

-- What a lead contributes to the rollup, one row per kind it counts in (won_value last).
CREATE FUNCTION analytics_facts(l leads) RETURNS TABLE (
    month TEXT, kind TEXT, channel TEXT, source_class TEXT, campaign TEXT, junk INTEGER,
    band INTEGER, stage TEXT, reached INTEGER, outcome TEXT, reason TEXT,
    hours DOUBLE PRECISION, won_value DOUBLE PRECISION
) LANGUAGE sql STABLE AS $$
    WITH m AS (SELECT to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month)
    SELECT m.month, 'cell', l.channel, l.source_class, COALESCE(l.campaign, ''),
        CASE WHEN l.junk = '' THEN 0 ELSE 1 END,
        -- core's `analytics::band_of` (-1: not scored)
        CASE WHEN l.score IS NULL THEN -1 WHEN l.score < 20 THEN 0 WHEN l.score < 40 THEN 1
            WHEN l.score < 60 THEN 2 WHEN l.score < 80 THEN 3 ELSE 4 END,
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

-- Appends what changed: the facts a lead no longer has, negated, and the ones it gained.
CREATE FUNCTION leads_track_analytics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO analytics_changes (month, kind, channel, source_class, campaign, junk, band,
            stage, reached, outcome, reason, hours, leads, won_value)
        SELECT f.month, f.kind, f.channel, f.source_class, f.campaign, f.junk, f.band, f.stage,
            f.reached, f.outcome, f.reason, f.hours, -1, -f.won_value
        FROM (SELECT * FROM analytics_facts(OLD)
              EXCEPT ALL
              SELECT * FROM analytics_facts(NEW) WHERE TG_OP = 'UPDATE') f;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO analytics_changes (month, kind, channel, source_class, campaign, junk, band,
            stage, reached, outcome, reason, hours, leads, won_value)
        SELECT f.month, f.kind, f.channel, f.source_class, f.campaign, f.junk, f.band, f.stage,
            f.reached, f.outcome, f.reason, f.hours, 1, f.won_value
        FROM (SELECT * FROM analytics_facts(NEW)
              EXCEPT ALL
              SELECT * FROM analytics_facts(OLD) WHERE TG_OP = 'UPDATE') f;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER leads_rollup_insert_delete AFTER INSERT OR DELETE ON leads
    FOR EACH ROW EXECUTE FUNCTION leads_track_analytics();

-- Most updates (a new score in the same band, a new owner) change no fact: the trigger
-- runs only when a column the facts read did.
CREATE TRIGGER leads_rollup_update AFTER UPDATE ON leads FOR EACH ROW
    WHEN ((OLD.created_at, OLD.channel, OLD.source_class, OLD.campaign, OLD.junk,
            CASE WHEN OLD.score IS NULL THEN -1 WHEN OLD.score < 20 THEN 0
                WHEN OLD.score < 40 THEN 1 WHEN OLD.score < 60 THEN 2 WHEN OLD.score < 80 THEN 3
                ELSE 4 END,
            OLD.stage, OLD.reached, OLD.outcome, OLD.won_value, OLD.hours_lead, OLD.hours_mql,
            OLD.hours_sal, OLD.hours_sql, OLD.hours_opportunity, OLD.disqualified_reason,
            OLD.recycled_reason, OLD.lost_reason)
        IS DISTINCT FROM (NEW.created_at, NEW.channel, NEW.source_class, NEW.campaign, NEW.junk,
            CASE WHEN NEW.score IS NULL THEN -1 WHEN NEW.score < 20 THEN 0
                WHEN NEW.score < 40 THEN 1 WHEN NEW.score < 60 THEN 2 WHEN NEW.score < 80 THEN 3
                ELSE 4 END,
            NEW.stage, NEW.reached, NEW.outcome, NEW.won_value, NEW.hours_lead, NEW.hours_mql,
            NEW.hours_sal, NEW.hours_sql, NEW.hours_opportunity, NEW.disqualified_reason,
            NEW.recycled_reason, NEW.lost_reason))
    EXECUTE FUNCTION leads_track_analytics();

-- The leads already stored, rolled up as the trigger would have.
INSERT INTO analytics_rollup (month, kind, channel, source_class, campaign, junk, band, stage,
    reached, outcome, reason, hours, leads, won_value)
SELECT f.month, f.kind, f.channel, f.source_class, f.campaign, f.junk, f.band, f.stage,
    f.reached, f.outcome, f.reason, f.hours, COUNT(*), SUM(f.won_value)
FROM leads l, analytics_facts(l) f
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;
