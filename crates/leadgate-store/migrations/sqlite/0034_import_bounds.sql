-- An import's matching is bounded: what it left uncompared is counted. A running import
-- says it is alive (`heartbeat_at`, Unix seconds); one whose heartbeat stopped was
-- interrupted, and is shown so until the same file is imported again to resume it.
ALTER TABLE imports ADD COLUMN match_blocks_skipped BIGINT NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN match_people_capped BIGINT NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN heartbeat_at BIGINT;
