-- Routing reads the MQLs that wait for an owner a page at a time in id order
-- (`Tx::unowned_mqls`). Without an index in that order the planner took the owner index,
-- read every waiting MQL, and sorted them for each page: quadratic in the waiting MQLs.
CREATE INDEX leads_unowned_mql ON leads (id) WHERE stage = 'mql' AND owner IS NULL;
