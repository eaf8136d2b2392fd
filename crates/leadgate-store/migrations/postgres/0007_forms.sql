-- Web-to-lead form definitions, by the key in their public URL (/f/{key}).
CREATE TABLE forms (
    key          TEXT PRIMARY KEY,
    definition   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
