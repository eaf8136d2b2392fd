-- Matching a capture to a known person or company asks for "the newest (or first) lead of
-- this person / company". With (key, id) indexes that is one index probe; with the key alone,
-- PostgreSQL may walk every lead by id instead, which made imports slow down as they grew.
DROP INDEX leads_person;
DROP INDEX leads_company;
DROP INDEX companies_name_key;
CREATE INDEX leads_person ON leads (person_id, id);
CREATE INDEX leads_company ON leads (company_id, id);
CREATE INDEX companies_name_key ON companies (name_key, id);
