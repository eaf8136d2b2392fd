//! The event log partitioned by month on PostgreSQL (migration 0043): a store made before it
//! is converted with its events and keys, new months get their partitions, a month can be
//! detached, and the log stays append-only and idempotent.

use chrono::{Datelike, Months, TimeZone, Utc};
use leadgate_core::event::LeadRef;
use leadgate_core::{EventDraft, EventType};
use leadgate_store::testing::{self, TestDatabase};
use leadgate_store::{AppendOutcome, Engine, NewEvent, Store, Ts};
use serde_json::json;
use sqlx::{Connection, Executor};

fn page_view(key: Option<&str>, page: &str) -> EventDraft {
    let mut e = EventDraft::new(EventType::PageViewed, Utc::now(), json!({ "page": page }));
    e.idempotency_key = key.map(str::to_owned);
    e
}

async fn partition_of(store: &Store, event_id: i64) -> String {
    testing::texts(
        store,
        &format!("SELECT tableoid::regclass::text FROM events WHERE id = {event_id}"),
    )
    .await
    .pop()
    .unwrap_or_default()
}

#[tokio::test]
async fn a_store_made_before_the_partitions_keeps_its_events_and_keys() {
    let db = TestDatabase::new(Engine::Postgres).await;
    // The schema as it stood before migration 0043, with a lead and two events.
    let all = sqlx::migrate!("./migrations/postgres");
    let mut before = sqlx::migrate::Migrator::DEFAULT;
    before.migrations = all.iter().filter(|m| m.version < 43).cloned().collect();
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    before.run(&mut conn).await.unwrap();
    conn.execute(
        "INSERT INTO people (id, created_at, updated_at) VALUES (1, now(), now());
         INSERT INTO leads (id, person_id, stage, channel, source_class, first_touch, last_touch,
                            created_at, updated_at)
             VALUES (1, 1, 'prospect', 'web_form', 'inbound', '{}', '{}', now(), now());
         INSERT INTO events (lead_id, type, occurred_at, recorded_at, payload, idempotency_key)
             VALUES (1, 'page_view', now(), now() - interval '400 days', '{}', 'old-key'),
                    (1, 'page_view', now(), now(), '{}', NULL);",
    )
    .await
    .unwrap();
    conn.close().await.unwrap();

    // Opening it runs 0043 and makes the coming months.
    let store = Store::connect(&db.url).await.unwrap();
    assert_eq!(
        testing::count(&store, "SELECT COUNT(*) FROM events_history").await,
        2
    );
    assert_eq!(
        testing::texts(&store, "SELECT idempotency_key FROM event_keys").await,
        ["old-key"]
    );
    let tables: Vec<String> = store
        .event_partitions()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.table)
        .collect();
    let next = Utc::now()
        .with_day(1)
        .unwrap()
        .checked_add_months(Months::new(1))
        .unwrap();
    assert_eq!(tables.first().map(String::as_str), Some("events_history"));
    assert_eq!(tables.last().map(String::as_str), Some("events_later"));
    assert!(
        tables.contains(&format!("events_{}", next.format("%Y_%m"))),
        "{tables:?}"
    );

    // The old key is still known; a new event is stored once.
    let lead = leadgate_core::id::LeadId(1);
    let outcomes = store
        .append_events(
            vec![
                Ok((LeadRef::Id(lead), page_view(Some("old-key"), "/again"))),
                Ok((LeadRef::Id(lead), page_view(Some("new-key"), "/pricing"))),
                Ok((LeadRef::Id(lead), page_view(None, "/docs"))),
            ],
            "api",
        )
        .await
        .unwrap();
    assert_eq!(outcomes[0], AppendOutcome::Duplicate);
    let (AppendOutcome::Accepted { id: keyed }, AppendOutcome::Accepted { id: keyless }) =
        (&outcomes[1], &outcomes[2])
    else {
        panic!("{outcomes:?}");
    };
    assert!(keyed < keyless, "ids follow the batch's order");
    let replay = store
        .append_events(
            vec![Ok((
                LeadRef::Id(lead),
                page_view(Some("new-key"), "/pricing"),
            ))],
            "api",
        )
        .await
        .unwrap();
    assert_eq!(replay, [AppendOutcome::Duplicate]);
    assert_eq!(
        store.timeline(lead, 100, None).await.unwrap().events.len(),
        4
    );
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn each_month_is_a_partition_that_can_be_detached_and_the_log_stays_append_only() {
    let db = TestDatabase::new(Engine::Postgres).await;
    let store = db.store().await;
    let lead = testing::capture(&store, json!({"email": "months@x.io"})).await;
    // Two months ahead is a partition of its own, made on connect.
    let month = Utc::now()
        .with_day(1)
        .unwrap()
        .checked_add_months(Months::new(2))
        .unwrap();
    let recorded = Utc
        .with_ymd_and_hms(month.year(), month.month(), 15, 12, 0, 0)
        .unwrap();
    let draft = page_view(Some("ahead"), "/later");
    let mut tx = store.begin().await.unwrap();
    let inserted = tx
        .insert_events(
            &[NewEvent {
                lead_id: lead,
                draft: &draft,
            }],
            Ts(recorded),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let table = format!("events_{}", month.format("%Y_%m"));
    assert_eq!(partition_of(&store, inserted[0].0).await, table);
    // Far ahead of every partition: the default one.
    let far = page_view(None, "/far");
    let mut tx = store.begin().await.unwrap();
    let far_id = tx
        .insert_events(
            &[NewEvent {
                lead_id: lead,
                draft: &far,
            }],
            Ts(Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap()),
        )
        .await
        .unwrap()[0]
        .0;
    tx.commit().await.unwrap();
    assert_eq!(partition_of(&store, far_id).await, "events_later");
    // Asking again makes nothing new.
    assert!(store
        .ensure_event_partitions(Utc::now())
        .await
        .unwrap()
        .is_empty());

    // Events stay append-only in every partition.
    for sql in [
        format!("UPDATE events SET type = 'x' WHERE id = {}", inserted[0].0),
        format!("DELETE FROM events WHERE id = {far_id}"),
    ] {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let error = conn.execute(sql.as_str()).await.unwrap_err().to_string();
        assert!(error.contains("append-only"), "{sql}: {error}");
    }

    // The month detached (to archive it): its event leaves the lead's timeline, the rest stay.
    let before = store.timeline(lead, 100, None).await.unwrap().events.len();
    testing::execute(
        &store,
        &format!("ALTER TABLE events DETACH PARTITION {table}"),
    )
    .await;
    let after = store.timeline(lead, 100, None).await.unwrap().events;
    assert_eq!(after.len(), before - 1);
    assert!(after.iter().all(|e| e.id != inserted[0].0));
    assert_eq!(
        testing::count(&store, &format!("SELECT COUNT(*) FROM {table}")).await,
        1,
        "the archived month keeps its rows"
    );
    store.close().await;
    db.cleanup().await;
}
