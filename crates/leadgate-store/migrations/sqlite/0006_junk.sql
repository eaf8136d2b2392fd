-- Junk flags: the reason codes (comma-separated; '' when the lead looks real), and whether a
-- person decided, after which automatic checks leave the flag alone.
ALTER TABLE leads ADD COLUMN junk TEXT NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN junk_reviewed BOOLEAN NOT NULL DEFAULT FALSE;
