-- What the sources cost (issue 29): money spent per month on a source named by channel,
-- campaign, UTM source or medium ('' where the line does not name it). A line for the same
-- month and source replaces the one before, so a cost file imported again changes nothing.
CREATE TABLE spend (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    month       TEXT NOT NULL,
    channel     TEXT NOT NULL DEFAULT '',
    campaign    TEXT NOT NULL DEFAULT '',
    utm_source  TEXT NOT NULL DEFAULT '',
    utm_medium  TEXT NOT NULL DEFAULT '',
    amount      REAL NOT NULL,
    recorded_by TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (month, channel, campaign, utm_source, utm_medium)
);

-- Settings of the store as a whole (the currency its money is in).
CREATE TABLE store_settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
