-- Rate limits counted in the database, so every server over one store counts together:
-- hits per key (e.g. a form's client address, a sign-in's account and address) in fixed
-- windows that start at `window_start` (Unix seconds).
CREATE TABLE rate_limits (
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end   BIGINT NOT NULL,
    hits         INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limits_end ON rate_limits (window_end);
