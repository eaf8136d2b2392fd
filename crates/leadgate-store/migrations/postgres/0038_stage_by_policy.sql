-- Whether the policy moved a lead into its present stage by itself (auto_mql). An MQL a
-- person marked by hand, with their reason, is theirs: the policy takes back to lead only
-- the MQLs it made when the rule stops holding. Leads already in MQL learn who made them
-- from their last move (the policy records itself as the actor 'policy:vN').
ALTER TABLE leads ADD COLUMN stage_by_policy BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE leads SET stage_by_policy = TRUE
WHERE stage = 'mql' AND (
    SELECT e.actor FROM events e
    WHERE e.lead_id = leads.id AND e.type = 'stage_changed'
    ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1
) LIKE 'policy:%';
