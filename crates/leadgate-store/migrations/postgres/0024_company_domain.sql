-- A company's web domain (from its website, else a company email address): a second way,
-- besides its name, to recognise a company a new lead works for.
ALTER TABLE companies ADD COLUMN domain TEXT;
CREATE INDEX companies_domain ON companies (domain, id);
INSERT INTO store_chores (name) VALUES ('company_domains');
