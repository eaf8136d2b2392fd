-- Response-deadline compliance per rep (the analytics page's table) reads only this index:
-- `sla_clocks_owner` lacks the start time, so grouping a million clocks looked each one up.
CREATE INDEX sla_clocks_compliance ON sla_clocks (owner, state, started_at);
