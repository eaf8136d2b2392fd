//! Rescoring passes on both engines: new events make leads due, passes on two servers take
//! each due lead once, and stale scores are rescored as decay takes leads out of MQL.

use chrono::{Duration, Utc};
use leadgate_app::rescore::{finish, rescore_due, rescore_page};
use leadgate_core::event::LeadRef;
use leadgate_core::{EventDraft, EventType, Stage};
use leadgate_store::testing::capture_of as capture;
use leadgate_store::Store;
use serde_json::json;

leadgate_store::on_both_engines!(
    new_events_make_leads_due_and_a_pass_rescores_them_once,
    a_recycled_lead_rests_before_the_policy_takes_it_back,
    an_applied_policy_rescores_a_page_at_a_time_and_a_newer_one_takes_over,
    a_backtest_read_in_ranges_counts_each_lead_of_its_product_once,
    backtests_take_turns
);

/// Two backtests asked for at once run one after the other: the second reads nothing until
/// the first has heard its last lead (each holds read connections for its length).
async fn backtests_take_turns(store: Store) {
    use leadgate_core::policy::Policy;
    let starter = Policy::parse(Policy::STARTER).unwrap();
    let captures = (0..2_500)
        .map(|i| capture(json!({"email": format!("turn{i}@x.io")})))
        .collect();
    store.capture_many(captures).await.unwrap();
    let heard = std::sync::Mutex::new(Vec::new());
    let run = |name: char| {
        let (store, starter, heard) = (&store, &starter, &heard);
        async move {
            leadgate_app::rescore::backtest(store, starter, None, Utc::now(), |_| {
                heard.lock().unwrap().push(name);
                // A slow listener: the other backtest would read meanwhile if it could.
                std::thread::sleep(std::time::Duration::from_millis(50));
            })
            .await
            .unwrap()
        }
    };
    let (a, b) = tokio::join!(run('a'), run('b'));
    assert_eq!((a.leads, b.leads), (2_500, 2_500));
    let heard = heard.into_inner().unwrap();
    let switches = heard.windows(2).filter(|w| w[0] != w[1]).count();
    assert_eq!(switches, 1, "one backtest after the other: {heard:?}");
}

/// A backtest reads a product's leads in id ranges at once: whatever the number of leads
/// (one, two, odd) and however other products' leads fall between them, each is replayed
/// once, and progress hears all of them.
async fn a_backtest_read_in_ranges_counts_each_lead_of_its_product_once(store: Store) {
    use leadgate_core::policy::Policy;
    let starter = Policy::parse(Policy::STARTER).unwrap();
    let mut stored = 0;
    for batch in [1, 1, 3, 2] {
        let captures = (0..batch * 3)
            .map(|i| {
                let product = if i % 3 == 0 { "default" } else { "other" };
                capture(
                    json!({"email": format!("p{stored}-{i}@x.io"), "custom": {"product": product}}),
                )
            })
            .collect();
        store.capture_many(captures).await.unwrap();
        stored += batch;
        let mut heard = 0;
        let report =
            leadgate_app::rescore::backtest(&store, &starter, None, Utc::now(), |n| heard += n)
                .await
                .unwrap();
        assert_eq!((report.leads, heard), (stored, stored));
        assert_eq!(report.current, report.candidate);
    }
    // A product without leads replays none.
    let none =
        Policy::parse(&Policy::STARTER.replace("product = \"default\"", "product = \"none\""))
            .unwrap();
    let report = leadgate_app::rescore::backtest(&store, &none, None, Utc::now(), |_| {})
        .await
        .unwrap();
    assert_eq!(report.leads, 0);
}

async fn an_applied_policy_rescores_a_page_at_a_time_and_a_newer_one_takes_over(store: Store) {
    let captures = (0..1_100)
        .map(|i| {
            capture(json!({"email": format!("buyer{i}@firm{}.com", i % 7), "job_title": "CTO"}))
        })
        .collect();
    let captured = store.capture_many(captures).await.unwrap();
    let mut ids: Vec<_> = captured.iter().map(|c| c.lead.id).collect();
    ids.sort();
    store
        .apply_policy(leadgate_core::policy::Policy::STARTER, "t", "first")
        .await
        .unwrap();
    let open = store.latest_rescore("default").await.unwrap().unwrap();
    assert_eq!((open.total, open.done, open.policy_version), (1_100, 0, 1));
    assert_eq!(open.finished_at(), None);

    let first = rescore_page(&store, None, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.done, 500);
    assert_eq!(
        first.after_lead, ids[499],
        "the cursor is the page's last lead"
    );
    assert_eq!(first.finished_at(), None);
    let version = |id| {
        let store = store.clone();
        async move {
            let lead = store.lead(id).await.unwrap();
            lead.snapshot.map(|s| s.policy_version)
        }
    };
    assert_eq!(version(ids[499]).await, Some(1));
    assert_ne!(version(ids[500]).await, Some(1), "not reached yet");

    // A newer version ends the pass where it stands and starts its own over every lead.
    let stricter =
        leadgate_core::policy::Policy::STARTER.replace("min_score = 70", "min_score = 90");
    store.apply_policy(&stricter, "t", "second").await.unwrap();
    let superseded = rescore_page(&store, Some(first.id), Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(superseded.done, 500, "an ended pass scores nothing more");
    assert!(superseded.finished_at().is_some());
    let second = store.latest_rescore("default").await.unwrap().unwrap();
    assert_eq!((second.policy_version, second.done), (2, 0));

    // Two servers at once: on PostgreSQL one holds the pass and the other finds nothing to
    // do; on SQLite they take turns. Either way no lead is counted twice.
    let (a, b) = tokio::join!(
        rescore_page(&store, None, Utc::now()),
        rescore_page(&store, None, Utc::now())
    );
    a.unwrap();
    b.unwrap();
    let summary = finish(&store, &second, Utc::now(), |_| {}).await.unwrap();
    assert_eq!(summary.scored, 1_100);
    let done = store.latest_rescore("default").await.unwrap().unwrap();
    assert_eq!(done.done, 1_100);
    assert!(done.finished_at().is_some());
    assert!(rescore_page(&store, None, Utc::now())
        .await
        .unwrap()
        .is_none());
    assert_eq!(version(ids[0]).await, Some(2));
    assert_eq!(version(ids[1_099]).await, Some(2));
}

async fn new_events_make_leads_due_and_a_pass_rescores_them_once(store: Store) {
    let good = json!({"job_title": "CTO", "industry": "Software", "company_size": 300, "product_need": "routing"});
    let mut ids = Vec::new();
    for i in 0..50 {
        let mut input = good.clone();
        input["email"] = json!(format!("cto{i}@acme.io"));
        ids.push(store.capture(capture(input)).await.unwrap().lead.id);
    }
    assert_eq!(
        rescore_due(&store, 100, Utc::now()).await.unwrap(),
        0,
        "captures alone are not due"
    );
    let items = ids
        .iter()
        .flat_map(|id| {
            [
                Ok((
                    LeadRef::Id(*id),
                    EventDraft::new(
                        EventType::WebinarAttended,
                        Utc::now() - Duration::hours(2),
                        json!({}),
                    ),
                )),
                Ok((
                    LeadRef::Id(*id),
                    EventDraft::new(
                        EventType::EmailOpened,
                        Utc::now() - Duration::hours(1),
                        json!({}),
                    ),
                )),
            ]
        })
        .collect();
    store.append_events(items, "api").await.unwrap();
    // Two passes at once (two servers): together they take every due lead exactly once.
    let (a, b) = tokio::join!(
        rescore_due(&store, 30, Utc::now()),
        rescore_due(&store, 30, Utc::now())
    );
    let first = a.unwrap() + b.unwrap();
    let rest = rescore_due(&store, 100, Utc::now()).await.unwrap();
    assert_eq!(first + rest, 50);
    assert_eq!(rescore_due(&store, 100, Utc::now()).await.unwrap(), 0);
    // A day later their scores are stale (decay may have moved them): marked due again.
    assert_eq!(
        store
            .flag_stale_scores(Utc::now() - Duration::hours(24))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .flag_stale_scores(Utc::now() + Duration::seconds(1))
            .await
            .unwrap(),
        50
    );
    assert_eq!(
        rescore_due(&store, 100, Utc::now() + Duration::days(60))
            .await
            .unwrap(),
        50
    );
    for id in &ids {
        let lead = store.lead(*id).await.unwrap();
        assert_eq!(
            lead.lead.stage,
            Stage::Lead,
            "two months of decay take lead {id} out of MQL"
        );
    }
    for id in ids {
        let moves = store
            .timeline(id, 100, None)
            .await
            .unwrap()
            .events
            .into_iter()
            .filter(|e| e.event_type == "stage_changed")
            .count();
        assert_eq!(moves, 2, "in once, out once");
    }
}

/// A lead a rep recycled ("not ready yet") stays recycled though its score still holds the
/// MQL rule: the policy takes it back only after the cool-down, and only once it engaged
/// again. (It went straight back to MQL, with a fresh response clock, on the next rescore.)
async fn a_recycled_lead_rests_before_the_policy_takes_it_back(store: Store) {
    use leadgate_app::qualify::{refresh_lead, transition};
    let policy = leadgate_core::policy::Policy::STARTER
        .replace("recycle_cooldown_days = 30", "recycle_cooldown_days = 1");
    store
        .apply_policy(&policy, "test", "a day's rest")
        .await
        .unwrap();
    let now = Utc::now();
    let id = store
        .capture(capture(json!({
            "email": "cto@acme.io", "job_title": "CTO", "industry": "Software",
            "company_size": 300, "product_need": "routing"
        })))
        .await
        .unwrap()
        .lead
        .id;
    let event = |kind: EventType, at| Ok((LeadRef::Id(id), EventDraft::new(kind, at, json!({}))));
    store
        .append_events(
            vec![
                event(EventType::MeetingBooked, now - Duration::hours(3)),
                event(EventType::WebinarAttended, now - Duration::hours(2)),
            ],
            "api",
        )
        .await
        .unwrap();
    let lead = refresh_lead(&store, id, now).await.unwrap();
    assert_eq!(lead.lead.stage, Stage::Mql, "the rule holds");
    transition(
        &store,
        id,
        Stage::Recycled,
        Some("not ready yet"),
        false,
        "li.na",
    )
    .await
    .unwrap();
    let stage = |at| {
        let store = store.clone();
        async move { refresh_lead(&store, id, at).await.unwrap().lead.stage }
    };
    assert_eq!(stage(now).await, Stage::Recycled, "it rests");
    let later = now + Duration::days(2);
    assert_eq!(
        stage(later).await,
        Stage::Recycled,
        "rested, but nothing new since it was recycled"
    );
    store
        .append_events(
            vec![event(EventType::WebinarAttended, now + Duration::days(1))],
            "api",
        )
        .await
        .unwrap();
    assert_eq!(stage(later).await, Stage::Mql, "rested and engaged again");
}
