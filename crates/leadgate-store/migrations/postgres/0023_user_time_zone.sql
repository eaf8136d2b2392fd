-- Each user's time zone (IANA name): the dashboard shows times in it.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
