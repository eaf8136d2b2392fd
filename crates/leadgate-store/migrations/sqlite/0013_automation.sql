-- The event types that start automation rules, per product, as of the policy in force
-- (rewritten when a policy is applied), so storing an event needs no policy parsing to know
-- whether to queue an automation job.
CREATE TABLE automation_triggers (
    product     TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    PRIMARY KEY (product, event_type)
);
