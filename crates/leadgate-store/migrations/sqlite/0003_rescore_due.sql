-- Leads whose events changed since they were last scored; a background pass rescores them.
ALTER TABLE leads ADD COLUMN rescore_due BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX leads_rescore_due ON leads (id) WHERE rescore_due = TRUE;
