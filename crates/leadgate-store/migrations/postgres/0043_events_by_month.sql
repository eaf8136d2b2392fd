-- The event log is partitioned by the month each event was recorded in, so old months can
-- be detached and archived (ALTER TABLE events DETACH PARTITION events_2026_01). The table
-- as it stands becomes one partition, events_history, of everything recorded before the
-- month after the last event (or after this one). The store makes each month's partition
-- ahead of time (`ensure_event_partitions`, on connect and daily), and events_later, the
-- default partition, takes a time no partition covers.
--
-- A partitioned table's unique keys must hold its partition key, so a client's idempotency
-- key, unique over the whole log, moves to a table of its own (event_keys), written in the
-- statement that inserts the event. PostgreSQL 15 has no identity columns on partitioned
-- tables: the id comes from a plain sequence.

CREATE TABLE event_keys (
    idempotency_key TEXT PRIMARY KEY,
    event_id        BIGINT NOT NULL
);
INSERT INTO event_keys (idempotency_key, event_id)
    SELECT idempotency_key, id FROM events WHERE idempotency_key IS NOT NULL;

ALTER TABLE events RENAME TO events_history;
ALTER TABLE events_history DROP CONSTRAINT events_idempotency_key_key;
ALTER TABLE events_history DROP CONSTRAINT events_pkey;
ALTER TABLE events_history ALTER COLUMN id DROP IDENTITY;
DROP TRIGGER events_no_update ON events_history;
ALTER INDEX events_lead_time RENAME TO events_history_lead_time;
ALTER INDEX events_journey RENAME TO events_history_journey;

CREATE SEQUENCE events_id_seq;
SELECT setval('events_id_seq', COALESCE((SELECT MAX(id) FROM events_history), 0) + 1, false);

CREATE TABLE events (
    id               BIGINT NOT NULL DEFAULT nextval('events_id_seq'),
    lead_id          BIGINT NOT NULL REFERENCES leads (id),
    type             TEXT NOT NULL,
    occurred_at      TIMESTAMPTZ NOT NULL,
    recorded_at      TIMESTAMPTZ NOT NULL,
    source           TEXT,
    actor            TEXT,
    payload          JSONB NOT NULL DEFAULT '{}',
    idempotency_key  TEXT,
    PRIMARY KEY (id, recorded_at)
) PARTITION BY RANGE (recorded_at);
ALTER SEQUENCE events_id_seq OWNED BY events.id;
CREATE INDEX events_lead_time ON events (lead_id, occurred_at);
CREATE INDEX events_journey ON events (lead_id, occurred_at, id)
    WHERE type IN ('stage_changed', 'outcome_recorded');
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- Month boundaries are UTC midnights, whatever the session's time zone.
DO $$
DECLARE
    next_month TIMESTAMPTZ :=
        (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    after_last TIMESTAMPTZ :=
        (date_trunc('month', (SELECT MAX(recorded_at) FROM events_history) AT TIME ZONE 'UTC')
         + interval '1 month') AT TIME ZONE 'UTC';
BEGIN
    EXECUTE format(
        'ALTER TABLE events ATTACH PARTITION events_history FOR VALUES FROM (MINVALUE) TO (%L)',
        GREATEST(next_month, after_last));
END $$;
CREATE TABLE events_later PARTITION OF events DEFAULT;
