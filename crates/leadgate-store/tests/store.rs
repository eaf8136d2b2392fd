//! The store against real databases: every test runs once on SQLite and once on PostgreSQL.

use chrono::{Duration, Utc};
use leadgate_core::event::LeadRef;
use leadgate_core::id::LeadId;
use leadgate_core::lead::PatchMode;
use leadgate_core::{Channel, EventDraft, EventType, LeadPatch, Stage};
use leadgate_store::testing::TestDatabase;
use leadgate_store::{AppendOutcome, Capture, Engine, LeadFilter, Store, StoreError};
use serde_json::{json, Value};

leadgate_store::on_both_engines!(
    capture_creates_then_upserts_idempotently,
    email_matches_the_same_person_and_external_ids_split_leads,
    editing_records_each_change_as_an_event,
    email_taken_by_another_person_is_a_conflict,
    events_append_with_duplicates_and_rejections,
    timeline_is_newest_first_and_paginates,
    listing_filters_searches_and_pages,
    api_keys_verify_until_revoked,
    concurrent_captures_of_one_new_person_make_one_lead,
    search_and_company_matching_work_in_every_script,
    phones_countries_and_company_domains_are_normalised_on_capture,
    rate_limit_hits_count_per_key_and_window_and_ended_windows_are_dropped,
    a_policy_is_stored_with_one_kind_of_line_ending,
    a_board_column_counts_its_leads_up_to_a_cap,
    a_product_s_leads_stream_in_pages_each_with_its_events_in_order,
);

/// What a rescoring pass and a backtest read: a page of one product's leads after a given
/// one, in id order, each with all its events in the order they happened (a lead without
/// events has none; another product's leads are not in the page).
async fn a_product_s_leads_stream_in_pages_each_with_its_events_in_order(store: Store) {
    let mut crm = Vec::new();
    for i in 0..5 {
        let product = if i == 2 { "erp" } else { "CRM" };
        let lead = store
            .capture(capture(
                json!({"email": format!("p{i}@x.io"), "custom": {"product": product}}),
            ))
            .await
            .unwrap()
            .lead;
        if product == "CRM" {
            crm.push(lead.id);
        }
    }
    let now = Utc::now();
    // Appended out of order: the second lead's events happened in the order 2, 0, 1.
    let mut items = Vec::new();
    for (lead, minutes) in [(crm[1], 10), (crm[1], 30), (crm[1], 20), (crm[3], 5)] {
        items.push(Ok((
            LeadRef::Id(lead),
            EventDraft::new(
                EventType::PageViewed,
                now - Duration::minutes(minutes),
                json!({"page": format!("/{minutes}")}),
            ),
        )));
    }
    store.append_events(items, "test").await.unwrap();

    let mut tx = store.begin_read().await.unwrap();
    let mut seen: Vec<(LeadId, Vec<String>)> = Vec::new();
    let count = tx
        .each_lead_of_product("crm", (crm[0], LeadId(i64::MAX)), 2, |lead, events| {
            let pages = leadgate_store::facts(&events)
                .iter()
                .filter(|e| e.event_type == EventType::PageViewed)
                .map(|e| e.payload["page"].as_str().unwrap_or_default().to_owned())
                .collect();
            seen.push((lead.id, pages));
        })
        .await
        .unwrap();
    assert_eq!(count, 2);
    assert_eq!(
        seen,
        vec![
            (
                crm[1],
                vec!["/30".to_owned(), "/20".to_owned(), "/10".to_owned()]
            ),
            (crm[2], vec![]),
        ]
    );
    // The last page is short; past the end there is none.
    let mut last = Vec::new();
    let count = tx
        .each_lead_of_product("crm", (crm[2], LeadId(i64::MAX)), 2, |lead, events| {
            last.push((lead.id, events.len()));
        })
        .await
        .unwrap();
    assert_eq!(count, 1);
    assert_eq!(last[0].0, crm[3]);
    assert!(last[0].1 >= 1);
    let none = tx
        .each_lead_of_product("crm", (crm[3], LeadId(i64::MAX)), 2, |_, _| {
            panic!("no lead is after the last")
        })
        .await
        .unwrap();
    assert_eq!(none, 0);
    // A range ends where asked; the span is the product's first and last lead.
    let mut ranged = Vec::new();
    tx.each_lead_of_product("crm", (LeadId(0), crm[1]), 10, |lead, _| {
        ranged.push(lead.id)
    })
    .await
    .unwrap();
    assert_eq!(ranged, crm[..2]);
    assert_eq!(
        tx.lead_span_of_product("crm").await.unwrap(),
        Some((crm[0], crm[3]))
    );
    assert_eq!(tx.lead_span_of_product("none").await.unwrap(), None);
}

/// A board column's totals: the stage's leads (of a team when asked), junk left out,
/// counted up to the cap.
async fn a_board_column_counts_its_leads_up_to_a_cap(store: Store) {
    store
        .put_team(
            "north",
            &leadgate_core::calendar::BusinessCalendar::always(),
            None,
        )
        .await
        .unwrap();
    let rep = leadgate_store::RepInput {
        team: "north".into(),
        email: None,
        weight: 1.0,
        daily_cap: None,
        away: false,
    };
    store.put_rep("ana", &rep).await.unwrap();
    store.put_rep("bo", &rep).await.unwrap();
    for i in 0..7 {
        let owner = match i {
            0 | 1 => json!("ana"),
            2 | 3 => json!("bo"),
            _ => Value::Null,
        };
        let junk = if i == 6 { "info@example.com" } else { "" };
        let email = if junk.is_empty() {
            format!("p{i}@acme.example")
        } else {
            junk.to_owned()
        };
        leadgate_store::testing::capture(
            &store,
            json!({"email": email, "owner": owner, "stage": "lead"}),
        )
        .await;
    }
    let mql = |team: Option<&'static str>, cap| {
        let store = store.clone();
        async move { store.stage_total(Stage::Lead, team, cap).await.unwrap().0 }
    };
    assert_eq!(mql(None, 100).await, 6, "the junk role address is left out");
    assert_eq!(
        mql(Some("north"), 100).await,
        4,
        "each rep of the team counted"
    );
    assert_eq!(mql(Some("south"), 100).await, 0);
    assert_eq!(mql(None, 3).await, 3, "counted up to the cap");
    assert_eq!(mql(Some("north"), 3).await, 3, "the cap holds across reps");
    assert_eq!(
        store.stage_total(Stage::Sal, None, 100).await.unwrap(),
        (0, 0.0)
    );
}

/// A browser's text area sends CRLF line endings: the version is stored with LF as every
/// other one, so its diff from the one before shows only the lines that changed.
async fn a_policy_is_stored_with_one_kind_of_line_ending(store: Store) {
    let starter = leadgate_core::policy::Policy::STARTER;
    let changed = starter.replace("min_score = 70", "min_score = 65");
    assert_ne!(changed, starter);
    let first = store
        .apply_policy(starter, "ops", "starter")
        .await
        .expect("starter");
    let from_browser = changed.replace('\n', "\r\n");
    let second = store
        .apply_policy(&from_browser, "ops", "lower the bar")
        .await
        .expect("from a browser");
    assert!(!second.document.contains('\r'));
    let stored = store
        .policy_version(&second.product, second.version)
        .await
        .expect("stored");
    assert_eq!(stored.document, changed);
    let differing = first
        .document
        .lines()
        .zip(stored.document.lines())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(differing, 1, "only min_score differs");
}

async fn rate_limit_hits_count_per_key_and_window_and_ended_windows_are_dropped(store: Store) {
    let now = Utc::now();
    let hit = |key: &'static str, at| {
        let store = store.clone();
        async move { store.hit(key, 60, at).await.unwrap().count }
    };
    for n in 1..=3 {
        assert_eq!(hit("form:1.2.3.4", now).await, n);
    }
    assert_eq!(hit("form:1.2.3.5", now).await, 1, "another key");
    let next_window = now + Duration::seconds(60);
    assert_eq!(hit("form:1.2.3.4", next_window).await, 1, "the next window");
    let left = store.hit("login:mia:1.2.3.4", 300, now).await.unwrap();
    assert!((1..=300).contains(&left.resets_in), "{left:?}");
    store.forget_hits("login:mia:1.2.3.4").await.unwrap();
    assert_eq!(
        store
            .hit("login:mia:1.2.3.4", 300, now)
            .await
            .unwrap()
            .count,
        1,
        "forgotten"
    );
    assert_eq!(
        store.forget_ended_hits(now).await.unwrap(),
        0,
        "still running"
    );
    assert!(store.forget_ended_hits(next_window).await.unwrap() >= 2);
    assert_eq!(
        hit("form:1.2.3.4", now).await,
        1,
        "its ended window dropped"
    );
}

fn capture(input: Value) -> Capture {
    leadgate_store::testing::capture_of(input)
}

async fn capture_creates_then_upserts_idempotently(store: Store) {
    let input = json!({"email": "Ana@Acme.io", "first_name": "Ana", "company": "Acme GmbH", "industry": "Software",
                       "company_size": 120, "channel": "web_form", "utm_source": "google", "custom": {"plan": "pro"}});
    let first = store.capture(capture(input.clone())).await.unwrap();
    assert!(first.created);
    assert_eq!(
        first.lead.lead.email.as_ref().unwrap().as_str(),
        "Ana@acme.io"
    );
    assert_eq!(first.lead.first_touch.channel, Channel::WebForm);
    let again = store.capture(capture(input)).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.lead.id, first.lead.id);
    assert!(again.changes.is_empty());
    assert_eq!(store.count_leads().await.unwrap(), 1);

    let update = store
        .capture(capture(
            json!({"email": "Ana@acme.io", "job_title": "CTO", "channel": "webinar"}),
        ))
        .await
        .unwrap();
    assert_eq!(update.lead.id, first.lead.id);
    assert_eq!(update.changes.len(), 1);
    assert_eq!(update.lead.first_touch.channel, Channel::WebForm);
    assert_eq!(update.lead.last_touch.channel, Channel::Webinar);
    let read = store.lead(first.lead.id).await.unwrap();
    assert_eq!(read, update.lead);
    assert_eq!(read.lead.company.as_ref().unwrap().as_str(), "Acme GmbH");
    assert_eq!(read.lead.custom["plan"], "pro");
}

async fn email_matches_the_same_person_and_external_ids_split_leads(store: Store) {
    let a = store
        .capture(capture(json!({"external_id": "crm-1", "email": "li@example.cn", "first_name": "伟", "last_name": "王", "phone": "+86 21 5555 0101"})))
        .await
        .unwrap();
    // Same person, another record of the source system: a second lead for one person, who
    // keeps the phone the second capture did not mention.
    let b = store
        .capture(capture(json!({"external_id": "crm-2", "email": "LI@example.cn", "product_need": "second product"})))
        .await
        .unwrap();
    assert!(b.created);
    assert_ne!(a.lead.id, b.lead.id);
    assert_eq!(a.lead.person_id, b.lead.person_id);
    assert_eq!(
        b.lead.lead.phone.as_ref().unwrap().as_str(),
        "+862155550101",
        "the person's phone, stored in E.164"
    );
    assert_eq!(b.lead.lead.first_name.as_ref().unwrap().as_str(), "伟");
    // The same external id is the same lead, whatever the email says now.
    let c = store
        .capture(capture(json!({"external_id": "crm-1", "country": "China"})))
        .await
        .unwrap();
    assert_eq!(c.lead.id, a.lead.id);
    // Companies are shared by name.
    let x = store
        .capture(capture(
            json!({"email": "a@x.com", "company": "Tianhe Machinery", "industry": "Manufacturing"}),
        ))
        .await
        .unwrap();
    let y = store
        .capture(capture(
            json!({"email": "b@x.com", "company": "tianhe machinery"}),
        ))
        .await
        .unwrap();
    assert_eq!(x.lead.company_id, y.lead.company_id);
    assert_eq!(
        y.lead.lead.industry.as_ref().unwrap().as_str(),
        "Manufacturing"
    );
}

async fn editing_records_each_change_as_an_event(store: Store) {
    let created = store
        .capture(capture(
            json!({"email": "sara@pars.ir", "first_name": "سارا"}),
        ))
        .await
        .unwrap();
    let patch = LeadPatch::parse(
        json!({"last_name": "رضایی", "owner": "m.nguyen", "budget": 15000})
            .as_object()
            .unwrap(),
        PatchMode::Update,
    )
    .unwrap();
    let updated = store
        .update_lead(created.lead.id, &patch, "alice")
        .await
        .unwrap();
    assert_eq!(updated.changes.len(), 3);
    let timeline = store
        .timeline(created.lead.id, 100, None)
        .await
        .unwrap()
        .events;
    let types: Vec<&str> = timeline.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types.iter().filter(|t| **t == "field_changed").count(), 2);
    assert_eq!(types.iter().filter(|t| **t == "owner_assigned").count(), 1);
    assert!(types.contains(&"form_submitted"));
    let change = timeline
        .iter()
        .find(|e| e.event_type == "field_changed" && e.payload.0["field"] == "last_name")
        .unwrap();
    assert_eq!(change.payload.0["new"], "رضایی");
    assert_eq!(change.actor.as_deref(), Some("alice"));
    assert!(matches!(
        store.update_lead(LeadId(999_999), &patch, "alice").await,
        Err(StoreError::LeadNotFound(LeadId(999_999)))
    ));
}

async fn email_taken_by_another_person_is_a_conflict(store: Store) {
    store
        .capture(capture(json!({"email": "one@x.io"})))
        .await
        .unwrap();
    let two = store
        .capture(capture(json!({"email": "two@x.io"})))
        .await
        .unwrap();
    let patch = LeadPatch::parse(
        json!({"email": "ONE@x.io"}).as_object().unwrap(),
        PatchMode::Update,
    )
    .unwrap();
    match store.update_lead(two.lead.id, &patch, "t").await {
        Err(StoreError::Conflict { field, .. }) => assert_eq!(field, "email"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Nothing was half-written.
    assert_eq!(
        store
            .lead(two.lead.id)
            .await
            .unwrap()
            .lead
            .email
            .unwrap()
            .as_str(),
        "two@x.io"
    );
    assert_eq!(
        store
            .timeline(two.lead.id, 10, None)
            .await
            .unwrap()
            .events
            .len(),
        1
    );
}

fn event(key: Option<&str>) -> EventDraft {
    let mut e = EventDraft::new(
        EventType::PageViewed,
        Utc::now() - Duration::minutes(5),
        json!({"page": "/pricing"}),
    );
    e.idempotency_key = key.map(str::to_owned);
    e
}

async fn events_append_with_duplicates_and_rejections(store: Store) {
    let lead = store
        .capture(capture(json!({"email": "e@x.io", "external_id": "ext-9"})))
        .await
        .unwrap()
        .lead;
    let items = vec![
        Ok((LeadRef::Id(lead.id), event(Some("k1")))),
        Ok((
            LeadRef::External(leadgate_core::ExternalId::parse("ext-9").unwrap()),
            event(None),
        )),
        Ok((LeadRef::Id(lead.id), event(Some("k1")))),
        Ok((LeadRef::Id(LeadId(424242)), event(Some("k2")))),
        Err(leadgate_core::FieldError::new("type", "is required").into()),
        Ok((LeadRef::Id(lead.id), event(None))),
    ];
    let outcomes = store.append_events(items.clone(), "api").await.unwrap();
    assert!(matches!(outcomes[0], AppendOutcome::Accepted { .. }));
    assert!(matches!(outcomes[1], AppendOutcome::Accepted { .. }));
    assert_eq!(outcomes[2], AppendOutcome::Duplicate);
    assert!(
        matches!(&outcomes[3], AppendOutcome::Rejected { errors } if errors[0].field == "lead_id")
    );
    assert!(
        matches!(&outcomes[4], AppendOutcome::Rejected { errors } if errors[0].field == "type")
    );
    let ids: Vec<i64> = outcomes
        .iter()
        .filter_map(|o| match o {
            AppendOutcome::Accepted { id } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let before = store.count_events().await.unwrap();
    // Replaying the batch stores only the un-keyed events again.
    let replay = store.append_events(items, "api").await.unwrap();
    assert_eq!(replay[0], AppendOutcome::Duplicate);
    assert_eq!(store.count_events().await.unwrap(), before + 2);
    // Ids returned are the ids stored, with their keys.
    let timeline = store.timeline(lead.id, 100, None).await.unwrap().events;
    let first_id = ids[0];
    assert_eq!(
        timeline
            .iter()
            .find(|e| e.id == first_id)
            .unwrap()
            .idempotency_key
            .as_deref(),
        Some("k1")
    );
}

async fn timeline_is_newest_first_and_paginates(store: Store) {
    let lead = store
        .capture(capture(json!({"email": "t@x.io"})))
        .await
        .unwrap()
        .lead;
    let now = Utc::now();
    let items = (0..25)
        .map(|i| {
            Ok((
                LeadRef::Id(lead.id),
                EventDraft::new(
                    EventType::EmailOpened,
                    now - Duration::hours(i),
                    json!({"n": i}),
                ),
            ))
        })
        .collect();
    store.append_events(items, "api").await.unwrap();
    // 25 appended plus the capture, newest first, in pages that neither skip nor repeat.
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .timeline(lead.id, 10, cursor.as_deref())
            .await
            .unwrap();
        assert!(page.events.len() <= 10);
        all.extend(page.events);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(all.len(), 26);
    assert!(all
        .windows(2)
        .all(|w| w[0].occurred_at() >= w[1].occurred_at()));
    let ids: std::collections::HashSet<i64> = all.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), 26);
    assert!(matches!(
        store.timeline(LeadId(777_777), 10, None).await,
        Err(StoreError::LeadNotFound(_))
    ));
}

async fn listing_filters_searches_and_pages(store: Store) {
    let leads = leadgate_demo::generate(11, 60, Utc::now());
    for demo in &leads {
        let fields: serde_json::Map<String, Value> = demo
            .lead
            .to_json_fields()
            .into_iter()
            .filter(|(k, v)| k != "stage" && !v.is_null())
            .collect();
        let patch = LeadPatch::parse(&fields, PatchMode::Create).unwrap();
        store
            .capture(Capture {
                patch,
                source: Some(demo.source.clone()),
                raw: Value::Null,
                at: demo.created_at,
                actor: "demo".into(),
                bot: false,
                by: Default::default(),
            })
            .await
            .unwrap();
    }
    assert_eq!(store.count_leads().await.unwrap(), 60);
    // Pages walk the whole set exactly once, newest first.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_leads(&LeadFilter {
                limit: 7,
                cursor: cursor.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        seen.extend(page.leads.iter().map(|l| (l.created_at, l.id)));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 60);
    assert!(seen.windows(2).all(|w| w[0] > w[1]));
    // Filters.
    let ads = store
        .list_leads(&LeadFilter {
            channel: Some(Channel::SearchAd),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let expected = leads
        .iter()
        .filter(|l| l.source.channel == Channel::SearchAd)
        .count();
    assert_eq!(ads.leads.len(), expected);
    let stage = store
        .list_leads(&LeadFilter {
            stage: Some(Stage::Lead),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(stage.leads.iter().all(|l| l.lead.stage == Stage::Lead));
    // Text search is case-insensitive and finds any script.
    let target = &leads[5].lead;
    let needle = target.company.as_ref().unwrap().as_str().to_uppercase();
    let found = store
        .list_leads(&LeadFilter {
            q: Some(needle),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(found.leads.iter().any(|l| l.lead.email == target.email));
    let pct = store
        .list_leads(&LeadFilter {
            q: Some("%".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(pct.leads.is_empty(), "% must match literally");
    let cutoff = Utc::now() - Duration::days(30);
    let recent = store
        .list_leads(&LeadFilter {
            created_from: Some(cutoff),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        recent.leads.len(),
        leads.iter().filter(|l| l.created_at >= cutoff).count()
    );
    assert!(store
        .list_leads(&LeadFilter {
            cursor: Some("garbage".into()),
            limit: 5,
            ..Default::default()
        })
        .await
        .is_err());
}

async fn api_keys_verify_until_revoked(store: Store) {
    let made = store
        .create_api_key("zapier", leadgate_core::access::Role::Admin, None)
        .await
        .unwrap();
    assert!(made.secret.starts_with("lg_"));
    let found = store.verify_api_key(&made.secret).await.unwrap().unwrap();
    assert_eq!(found.name, "zapier");
    let mut wrong = made.secret.clone();
    wrong.pop();
    wrong.push('#');
    assert!(store.verify_api_key(&wrong).await.unwrap().is_none());
    assert!(store.revoke_api_key(&made.key.prefix).await.unwrap());
    assert!(store.verify_api_key(&made.secret).await.unwrap().is_none());
    assert!(!store.revoke_api_key(&made.key.prefix).await.unwrap());
    assert!(store.list_api_keys().await.unwrap()[0]
        .revoked_at()
        .is_some());
}

/// The log is append-only in the database itself, not only by the code's good manners.
#[tokio::test]
async fn events_cannot_be_rewritten_on_either_engine() {
    use sqlx::Connection;
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let db = TestDatabase::new(engine).await;
        let store = db.store().await;
        let lead = store
            .capture(capture(json!({"email": "a@b.io"})))
            .await
            .unwrap()
            .lead;
        assert_eq!(
            store
                .timeline(lead.id, 10, None)
                .await
                .unwrap()
                .events
                .len(),
            1
        );
        store.close().await;
        let (update, delete) = match engine {
            Engine::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
                (
                    sqlx::query("UPDATE events SET payload = '{}'")
                        .execute(&mut conn)
                        .await
                        .is_err(),
                    sqlx::query("DELETE FROM events")
                        .execute(&mut conn)
                        .await
                        .is_err(),
                )
            }
            Engine::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
                (
                    sqlx::query("UPDATE events SET payload = '{}'")
                        .execute(&mut conn)
                        .await
                        .is_err(),
                    sqlx::query("DELETE FROM events")
                        .execute(&mut conn)
                        .await
                        .is_err(),
                )
            }
        };
        assert!(update && delete, "{engine:?}: events must be append-only");
        db.cleanup().await;
    }
}

async fn concurrent_captures_of_one_new_person_make_one_lead(store: Store) {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .capture(capture(json!({"email": "race@x.io", "custom": {"n": i}})))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let outcome = task.await.unwrap().expect("every capture succeeds");
        created += usize::from(outcome.created);
    }
    assert_eq!(created, 1);
    assert_eq!(store.count_leads().await.unwrap(), 1);
}

async fn search_and_company_matching_work_in_every_script(store: Store) {
    let vn = store
        .capture(capture(json!({"email": "nam@saigonexpress.vn", "first_name": "Văn Nam", "last_name": "Nguyễn", "company": "Công ty TNHH Saigon Express"})))
        .await
        .unwrap()
        .lead;
    let vn2 = store
        .capture(capture(json!({"email": "lan@saigonexpress.vn", "first_name": "Ngọc Lan", "last_name": "Trần", "company": "SAIGON EXPRESS JSC"})))
        .await
        .unwrap()
        .lead;
    assert_eq!(
        vn.company_id, vn2.company_id,
        "one company however it is written"
    );
    let ir = store
        .capture(capture(json!({"email": "ali@pars.ir", "first_name": "علي", "last_name": "كريمي", "company": "شركت پارس"})))
        .await
        .unwrap()
        .lead;
    let cn = store
        .capture(capture(json!({"email": "wei@tianhe.cn", "first_name": "伟", "last_name": "王", "company": "天河机械有限公司"})))
        .await
        .unwrap()
        .lead;
    let cn2 = store
        .capture(capture(json!({"email": "fang@tianhe.cn", "first_name": "芳", "last_name": "李", "company": "天河机械"})))
        .await
        .unwrap()
        .lead;
    assert_eq!(cn.company_id, cn2.company_id);
    let find = |q: &str| {
        let store = store.clone();
        let q = q.to_owned();
        async move {
            store
                .list_leads(&LeadFilter {
                    q: Some(q),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap()
                .leads
                .into_iter()
                .map(|l| l.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(find("nguyen").await, [vn.id], "without diacritics");
    assert_eq!(find("Nguyễn").await, [vn.id], "with them");
    assert_eq!(find("saigon express").await.len(), 2);
    assert_eq!(
        find("علی").await,
        [ir.id],
        "Persian yeh finds the Arabic one"
    );
    assert_eq!(find("کریمی").await, [ir.id]);
    assert_eq!(find("伟").await, [cn.id], "Chinese without spaces");
    assert_eq!(find("天河").await.len(), 2);
}

async fn phones_countries_and_company_domains_are_normalised_on_capture(store: Store) {
    let ana = store
        .capture(capture(json!({"email": "ana@acme-robotics.de", "first_name": "Ana", "company": "Acme Robotics GmbH",
                                "industry": "Robotics", "website": "https://www.acme-robotics.de/en",
                                "phone": "030 1234567", "country": "Deutschland"})))
        .await
        .unwrap()
        .lead;
    assert_eq!(ana.lead.phone.as_ref().unwrap().as_str(), "+49301234567");
    assert_eq!(ana.lead.country.as_ref().unwrap().as_str(), "Germany");
    // What was typed stays in the capture's event.
    let events = store.timeline(ana.id, 10, None).await.unwrap().events;
    let submitted = events
        .iter()
        .find(|e| e.event_type == "form_submitted")
        .unwrap();
    assert_eq!(submitted.payload["input"]["phone"], "030 1234567");
    assert_eq!(submitted.payload["input"]["country"], "Deutschland");

    // A colleague with no company given is recognised by the email's domain, and gets the
    // company's details.
    let ben = store
        .capture(capture(
            json!({"email": "ben@Acme-Robotics.de", "first_name": "Ben", "country": "DE"}),
        ))
        .await
        .unwrap()
        .lead;
    assert_eq!(ben.company_id, ana.company_id);
    assert_eq!(
        ben.lead.company.as_ref().unwrap().as_str(),
        "Acme Robotics GmbH"
    );
    assert_eq!(ben.lead.industry.as_ref().unwrap().as_str(), "Robotics");
    // A free-mail address says nothing about the employer.
    let cy = store
        .capture(capture(
            json!({"email": "cy@gmail.com", "first_name": "Cy"}),
        ))
        .await
        .unwrap()
        .lead;
    assert_eq!(cy.company_id, None);
    // A colleague who writes from free mail joins by the company's name and leaves its
    // domain as it was: the next colleague is still found by it.
    let eve = store
        .capture(capture(
            json!({"email": "eve@gmail.com", "first_name": "Eve", "company": "Acme Robotics GmbH"}),
        ))
        .await
        .unwrap()
        .lead;
    assert_eq!(eve.company_id, ana.company_id);
    let fay = store
        .capture(capture(
            json!({"email": "fay@acme-robotics.de", "first_name": "Fay"}),
        ))
        .await
        .unwrap()
        .lead;
    assert_eq!(fay.company_id, ana.company_id, "found by the kept domain");

    // Companies stored before domains were kept get theirs on the next start's chore.
    assert_eq!(
        store.fill_company_domains().await.unwrap(),
        0,
        "all have one"
    );
    leadgate_store::testing::forget_company_domains(&store).await;
    assert_eq!(store.fill_company_domains().await.unwrap(), 1);
    let dan = store
        .capture(capture(
            json!({"email": "dan@acme-robotics.de", "first_name": "Dan"}),
        ))
        .await
        .unwrap()
        .lead;
    assert_eq!(
        dan.company_id, ana.company_id,
        "found by the refilled domain"
    );

    // People stored before phones and countries were tidied get the one form on the next
    // start's chore; what is not a country or a phone stays as typed.
    assert_eq!(store.tidy_people().await.unwrap(), 0, "all are tidy");
    leadgate_store::testing::untidy_person(&store, ana.person_id, "030 7654321", "Deutschland")
        .await;
    leadgate_store::testing::untidy_person(&store, cy.person_id, "n/a", "Asia/Pacific Region")
        .await;
    assert_eq!(store.tidy_people().await.unwrap(), 1);
    let ana = store.lead(ana.id).await.unwrap();
    assert_eq!(ana.lead.phone.as_ref().unwrap().as_str(), "+49307654321");
    assert_eq!(ana.lead.country.as_ref().unwrap().as_str(), "Germany");
    let cy = store.lead(cy.id).await.unwrap();
    assert_eq!(
        cy.lead.country.as_ref().unwrap().as_str(),
        "Asia/Pacific Region"
    );
    assert_eq!(store.tidy_people().await.unwrap(), 0, "once is enough");
}

/// A rescoring page on PostgreSQL holds its leads: an event appended while the page is
/// scored waits, then leaves its lead due, so the score it missed is made again. (Before,
/// the page's write cleared the due flag the append had just set, and the event went
/// unscored until the next one.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_appended_while_a_page_is_scored_leaves_its_lead_due() {
    use leadgate_core::policy::Policy;
    use leadgate_core::scoring::{score, Marks};
    let db = TestDatabase::new(Engine::Postgres).await;
    let store = db.store().await;
    let lead = store
        .capture(leadgate_store::testing::capture_of(
            json!({"email": "held@x.io", "custom": {"product": "crm"}}),
        ))
        .await
        .unwrap()
        .lead;
    leadgate_store::testing::execute(&store, "UPDATE leads SET rescore_due = FALSE").await;
    let due =
        || leadgate_store::testing::count(&store, "SELECT COUNT(*) FROM leads WHERE rescore_due");

    let mut tx = store.begin().await.unwrap();
    let page = (LeadId(0), LeadId(i64::MAX));
    tx.hold_leads_of_product("crm", page, 10).await.unwrap();
    let mut read = Vec::new();
    tx.each_lead_of_product("crm", page, 10, |lead, events| read.push((lead, events)))
        .await
        .unwrap();
    // Meanwhile a visit is reported.
    let other = store.clone();
    let append = tokio::spawn(async move {
        let visit = EventDraft::new(
            EventType::PageViewed,
            Utc::now(),
            json!({"page": "/pricing"}),
        );
        other
            .append_events(vec![Ok((LeadRef::Id(lead.id), visit))], "tracker")
            .await
            .unwrap()
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!append.is_finished(), "the append waits for the page");
    let policy = Policy::parse(Policy::STARTER).unwrap();
    let (stored, events) = &read[0];
    let facts = leadgate_store::facts(events);
    let scored = score(&stored.lead, &facts, Marks::default(), &policy, Utc::now());
    tx.save_scores(&[(stored, &scored, 1)], Utc::now(), Some(false))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(
        append.await.unwrap()[0],
        AppendOutcome::Accepted { .. }
    ));
    assert_eq!(
        due().await,
        1,
        "the lead is due again for the visit it was not scored with"
    );
}
