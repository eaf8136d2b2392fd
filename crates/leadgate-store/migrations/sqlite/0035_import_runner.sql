-- Which run is importing a file (host:pid:nonce), so that a second run of the same file
-- waits instead of importing it alongside, and a run whose process died is taken over.
ALTER TABLE imports ADD COLUMN runner TEXT;
