-- People who use the dashboard: a role, a team for sales roles (their name is the owner
-- name leads carry), a language, and an argon2 password hash.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL,
    team           TEXT,
    locale         TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    disabled_at    INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- Signed-in browser sessions: the cookie's token is stored only as a SHA-256 hash; each
-- session carries its own CSRF token for forms.
CREATE TABLE sessions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash     TEXT NOT NULL UNIQUE,
    user_id        BIGINT NOT NULL REFERENCES users (id),
    csrf           TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- API keys carry a role (and a team for sales roles); keys made before roles keep full
-- access.
ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE api_keys ADD COLUMN team TEXT;
