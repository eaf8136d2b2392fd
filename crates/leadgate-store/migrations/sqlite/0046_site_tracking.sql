-- The website tracker (issue 28): trackers by their public key, each with the sites it may
-- collect from; the anonymous visitors a browser keeps an id for, linked to a lead once they
-- submit a form or follow a link from an email; and the page views of visitors not yet
-- linked (a linked visitor's views are events on the lead). Unlinked visitors and their
-- views are deleted after the retention period by the server's loop.
CREATE TABLE trackers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT NOT NULL UNIQUE,
    definition  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE visitors (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tracker_id   INTEGER REFERENCES trackers (id),
    visitor_key  TEXT NOT NULL UNIQUE,
    lead_id      INTEGER REFERENCES leads (id),
    robot        BOOLEAN NOT NULL DEFAULT FALSE,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL
);
CREATE INDEX visitors_of_lead ON visitors (lead_id) WHERE lead_id IS NOT NULL;
CREATE INDEX visitors_unlinked_by_last_seen ON visitors (last_seen) WHERE lead_id IS NULL;

CREATE TABLE page_views (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    visitor_id  INTEGER NOT NULL REFERENCES visitors (id) ON DELETE CASCADE,
    view_key    TEXT NOT NULL,
    viewed_at   INTEGER NOT NULL,
    view        TEXT NOT NULL,
    UNIQUE (visitor_id, view_key)
);
CREATE INDEX page_views_by_time ON page_views (viewed_at);
