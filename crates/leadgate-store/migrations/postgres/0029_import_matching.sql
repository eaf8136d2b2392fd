-- An import matches the people it brought once its rows are stored (not batch by batch):
-- those with ids above the mark taken when it started.
ALTER TABLE imports ADD COLUMN people_before BIGINT NOT NULL DEFAULT 0;
