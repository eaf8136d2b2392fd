//! Rescoring passes on both engines: new events make leads due, passes on two servers take
//! each due lead once, and stale scores are rescored as decay takes leads out of MQL.

use chrono::{Duration, Utc};
use leadgate_app::rescore::rescore_due;
use leadgate_core::event::LeadRef;
use leadgate_core::{EventDraft, EventType, Stage};
use leadgate_store::testing::capture_of as capture;
use leadgate_store::Store;
use serde_json::json;

leadgate_store::on_both_engines!(new_events_make_leads_due_and_a_pass_rescores_them_once);

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
