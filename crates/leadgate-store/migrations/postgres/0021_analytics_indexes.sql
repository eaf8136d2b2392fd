-- A team's board column: the leads of one stage owned by the team's reps, best scored
-- first (the stage index alone walks every lead of the stage when the team has none).
CREATE INDEX leads_owner_stage_score ON leads (owner, stage, COALESCE(score, -1e15), id);

-- Analytics read these instead of the wide lead rows: everything the grouped cells need,
-- with the period and owner first so a scope narrows them.
CREATE INDEX leads_analytics ON leads (created_at, owner, channel, source_class, campaign, junk,
    score, stage, reached, outcome, won_value);

-- Hours per stage and reasons, counted per value: only the leads that have one, already in
-- order.
CREATE INDEX leads_hours_lead ON leads (hours_lead, created_at, owner) WHERE hours_lead IS NOT NULL;
CREATE INDEX leads_hours_mql ON leads (hours_mql, created_at, owner) WHERE hours_mql IS NOT NULL;
CREATE INDEX leads_hours_sal ON leads (hours_sal, created_at, owner) WHERE hours_sal IS NOT NULL;
CREATE INDEX leads_hours_sql ON leads (hours_sql, created_at, owner) WHERE hours_sql IS NOT NULL;
CREATE INDEX leads_hours_opportunity ON leads (hours_opportunity, created_at, owner)
    WHERE hours_opportunity IS NOT NULL;
CREATE INDEX leads_disqualified_reason ON leads (disqualified_reason, created_at, owner)
    WHERE disqualified_reason IS NOT NULL;
CREATE INDEX leads_recycled_reason ON leads (recycled_reason, created_at, owner)
    WHERE recycled_reason IS NOT NULL;
CREATE INDEX leads_lost_reason ON leads (lost_reason, created_at, owner)
    WHERE lost_reason IS NOT NULL;
