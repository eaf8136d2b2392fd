-- People are matched as they are captured or imported (`Store::match_people`): by phone on
-- every capture, so people are found by phone; and an import counts the people it merged
-- into ones already known and the likely duplicates it suggested.
CREATE INDEX people_phone ON people (phone);
ALTER TABLE imports ADD COLUMN merged BIGINT NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN suggested BIGINT NOT NULL DEFAULT 0;
