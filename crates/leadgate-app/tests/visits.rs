//! A site's visitors on both engines: anonymous views kept apart, then events with their
//! original times on the lead the visitor turns out to be (by a form or an email's link),
//! robots dropped, old anonymous history forgotten, and a person's visitors exported and
//! erased with them.

use chrono::{DateTime, Duration, Utc};
use leadgate_app::visits::{forget_old, identify, record, Arrival, Pace};
use leadgate_app::Models;
use leadgate_core::visits::{ConsentMode, PageView, TrackerDefinition};
use leadgate_store::testing::{capture_of, count};
use leadgate_store::Store;
use serde_json::{json, Map};
use std::collections::HashSet;

leadgate_store::on_both_engines!(
    a_visitors_history_becomes_the_leads_events_when_they_send_a_form,
    robots_and_old_anonymous_history_are_not_kept,
    hostile_posts_are_stored_once_and_clean,
    a_visitor_from_an_email_is_its_recipient_and_is_erased_with_them
);

/// Now, to the millisecond, as a browser says it.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("a time")
}

fn view(n: usize, page: &str, at: DateTime<Utc>, visit: u32) -> PageView {
    PageView {
        id: format!("view-{n:016}"),
        url: format!("https://www.acme.example{page}"),
        page: page.into(),
        title: Some(format!("Acme {page}")),
        referrer: None,
        utm: Map::new(),
        viewed_at: at,
        seconds: 40,
        visit,
    }
}

async fn tracker(store: &Store) -> i64 {
    store
        .create_tracker(&TrackerDefinition {
            name: "Acme site".into(),
            sites: vec!["https://www.acme.example".into()],
            consent: ConsentMode::Required,
        })
        .await
        .expect("a tracker")
        .id
}

async fn lead(store: &Store, models: &Models, email: &str) -> leadgate_core::id::LeadId {
    leadgate_app::capture(
        store,
        models,
        capture_of(json!({"email": email, "first_name": "Ann"})),
        None,
    )
    .await
    .expect("a lead")
    .lead
    .id
}

async fn page_views_of(
    store: &Store,
    lead: leadgate_core::id::LeadId,
) -> Vec<(DateTime<Utc>, String)> {
    let timeline = store.timeline(lead, 100, None).await.expect("timeline");
    let mut views: Vec<_> = timeline
        .events
        .iter()
        .filter(|e| e.event_type == "page_viewed")
        .map(|e| {
            (
                e.occurred_at.0,
                e.payload.0["page"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    views.sort();
    views
}

async fn a_visitors_history_becomes_the_leads_events_when_they_send_a_form(store: Store) {
    let models = Models::new(store.clone());
    let tracker = tracker(&store).await;
    let now = now();
    let visitor = "visitor-0000000000000001".to_owned();
    let earlier = [
        view(1, "/", now - Duration::days(3), 1),
        view(
            2,
            "/pricing",
            now - Duration::days(3) + Duration::minutes(2),
            1,
        ),
        view(3, "/pricing", now - Duration::hours(5), 2),
    ];
    let arrival = Arrival {
        tracker_id: tracker,
        visitor: visitor.clone(),
        email: None,
        views: earlier.to_vec(),
    };
    let recorded = record(&store, vec![arrival.clone()], &HashSet::new(), now)
        .await
        .expect("recorded");
    assert_eq!((recorded.kept, recorded.events), (3, 0));
    // Posted again (the script retries): kept once.
    record(&store, vec![arrival], &HashSet::new(), now)
        .await
        .expect("again");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM page_views").await, 3);

    let lead = lead(&store, &models, "ann@acme.example").await;
    let score = |l: leadgate_store::StoredLead| l.snapshot.map_or(0.0, |s| s.score);
    let before = score(store.lead(lead).await.expect("lead"));
    assert_eq!(
        identify(&store, &models, &visitor, lead, now)
            .await
            .expect("identified"),
        3
    );
    let views = page_views_of(&store, lead).await;
    assert_eq!(
        views,
        earlier
            .iter()
            .map(|v| (v.viewed_at, v.page.clone()))
            .collect::<Vec<_>>(),
        "the views are the lead's events at the times they happened"
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM page_views").await, 0);
    let after = score(store.lead(lead).await.expect("lead"));
    assert!(after > before, "scored: {} -> {}", before, after);
    // Identified twice (the form sent again): nothing new.
    assert_eq!(
        identify(&store, &models, &visitor, lead, now)
            .await
            .expect("again"),
        0
    );

    // Known now: their next view is an event at once.
    let next = view(4, "/contact", now, 3);
    let recorded = record(
        &store,
        vec![Arrival {
            tracker_id: tracker,
            visitor: visitor.clone(),
            email: None,
            views: vec![next],
        }],
        &HashSet::new(),
        now,
    )
    .await
    .expect("recorded");
    assert_eq!((recorded.kept, recorded.events), (0, 1));
    assert_eq!(page_views_of(&store, lead).await.len(), 4);
    assert_eq!(
        count(
            &store,
            &format!(
                "SELECT COUNT(*) FROM leads WHERE id = {} AND rescore_due",
                lead.0
            )
        )
        .await,
        1
    );

    // A form that names a visitor the server has not flushed yet: linked all the same, and
    // their views, when they come, are the lead's.
    let early = lead_of(&store, &models, "bo@acme.example").await;
    assert_eq!(
        identify(&store, &models, "visitor-0000000000000002", early, now)
            .await
            .expect("linked"),
        0
    );
    record(
        &store,
        vec![Arrival {
            tracker_id: tracker,
            visitor: "visitor-0000000000000002".into(),
            email: None,
            views: vec![view(5, "/", now, 1)],
        }],
        &HashSet::new(),
        now,
    )
    .await
    .expect("recorded");
    assert_eq!(page_views_of(&store, early).await.len(), 1);
}

async fn lead_of(store: &Store, models: &Models, email: &str) -> leadgate_core::id::LeadId {
    lead(store, models, email).await
}

async fn robots_and_old_anonymous_history_are_not_kept(store: Store) {
    let models = Models::new(store.clone());
    let tracker = tracker(&store).await;
    let now = now();
    // Forty pages in a second: no person reads that fast.
    let robot = Arrival {
        tracker_id: tracker,
        visitor: "robot-00000000000000001".into(),
        email: None,
        views: (0..40).map(|i| view(100 + i, "/", now, 1)).collect(),
    };
    let person = Arrival {
        tracker_id: tracker,
        visitor: "person-0000000000000001".into(),
        email: None,
        views: vec![view(1, "/", now - Duration::days(100), 1)],
    };
    let mut pace = Pace::default();
    let robots = pace.robots(&[robot.clone(), person.clone()], now);
    assert_eq!(
        robots,
        HashSet::from(["robot-00000000000000001".to_owned()])
    );
    let recorded = record(&store, vec![robot.clone(), person], &robots, now)
        .await
        .expect("recorded");
    assert_eq!((recorded.kept, recorded.dropped), (1, 40));
    // Once a robot, always: a slow view later is dropped too, and it is never linked.
    let slow = Arrival {
        views: vec![view(200, "/", now, 1)],
        ..robot
    };
    let recorded = record(&store, vec![slow], &HashSet::new(), now)
        .await
        .expect("recorded");
    assert_eq!(recorded.dropped, 1);
    let lead = lead(&store, &models, "robot@acme.example").await;
    assert_eq!(
        identify(&store, &models, "robot-00000000000000001", lead, now)
            .await
            .expect("refused"),
        0
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM visitors WHERE lead_id IS NOT NULL"
        )
        .await,
        0
    );

    // A linked visitor stays however old; an anonymous one last seen long ago goes, with
    // views older than the retention.
    let linked = "linked-0000000000000001";
    record(
        &store,
        vec![Arrival {
            tracker_id: tracker,
            visitor: linked.into(),
            email: None,
            views: vec![view(300, "/", now - Duration::days(200), 1)],
        }],
        &HashSet::new(),
        now - Duration::days(200),
    )
    .await
    .expect("recorded");
    let lead = lead_of(&store, &models, "linked@acme.example").await;
    identify(&store, &models, linked, lead, now - Duration::days(200))
        .await
        .expect("linked");
    let gone = forget_old(&store, 90, now + Duration::days(1))
        .await
        .expect("forgotten");
    // The person's 100-day-old view; both unlinked visitors (seen now) stay... until later.
    assert_eq!(gone.views, 1);
    assert_eq!(gone.visitors, 0);
    let gone = forget_old(&store, 90, now + Duration::days(91))
        .await
        .expect("forgotten");
    assert_eq!(
        gone.visitors, 2,
        "the robot and the person, last seen 91 days before"
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM visitors").await, 1);
    assert_eq!(page_views_of(&store, lead).await.len(), 1);
}

async fn a_visitor_from_an_email_is_its_recipient_and_is_erased_with_them(store: Store) {
    use leadgate_core::email::TemplateRequest;
    let models = Models::new(store.clone());
    let tracker = tracker(&store).await;
    let now = now();
    let template = TemplateRequest {
        subject: Some("Prices".into()),
        body: Some("See https://www.acme.example/pricing and https://elsewhere.example/x".into()),
    }
    .check()
    .expect("a template");
    store
        .put_email_template("prices", &template)
        .await
        .expect("saved");
    let lead = lead(&store, &models, "lan@saigon.example").await;
    let email = store
        .queue_email(lead, "prices", "test")
        .await
        .expect("queued");
    // The click sends them on with the token to the tracked site only.
    let to_site = leadgate_app::engagement::clicked(&store, &email.message_id, 0, now)
        .await
        .expect("clicked")
        .expect("a link");
    assert!(to_site.contains("lg_e="), "{to_site}");
    let elsewhere = leadgate_app::engagement::clicked(&store, &email.message_id, 1, now)
        .await
        .expect("clicked")
        .expect("a link");
    assert_eq!(elsewhere, "https://elsewhere.example/x");

    let visitor = "visitor-from-the-email-01";
    record(
        &store,
        vec![Arrival {
            tracker_id: tracker,
            visitor: visitor.into(),
            email: None,
            views: vec![view(1, "/", now - Duration::hours(2), 1)],
        }],
        &HashSet::new(),
        now,
    )
    .await
    .expect("recorded");
    let recorded = record(
        &store,
        vec![Arrival {
            tracker_id: tracker,
            visitor: visitor.into(),
            email: Some(email.message_id.clone()),
            views: vec![view(2, "/pricing", now, 2)],
        }],
        &HashSet::new(),
        now,
    )
    .await
    .expect("recorded");
    assert_eq!(recorded.events, 2, "the history before and the view itself");
    assert_eq!(page_views_of(&store, lead).await.len(), 2);
    // An unknown token links nobody.
    let recorded = record(
        &store,
        vec![Arrival {
            tracker_id: tracker,
            visitor: "visitor-unknown-token-01".into(),
            email: Some("nope".into()),
            views: vec![view(3, "/", now, 1)],
        }],
        &HashSet::new(),
        now,
    )
    .await
    .expect("recorded");
    assert_eq!(recorded.kept, 1);

    let person = store.person_of_lead(lead).await.expect("person");
    let export = store.gdpr_export(person, "test").await.expect("export");
    assert_eq!(export["site_visitors"][0]["visitor"], visitor, "{export}");
    store.gdpr_erase(person, "test").await.expect("erased");
    assert_eq!(
        count(
            &store,
            &format!("SELECT COUNT(*) FROM visitors WHERE visitor_key = '{visitor}'")
        )
        .await,
        0
    );
    let left = count(
        &store,
        &format!("SELECT COUNT(*) FROM events WHERE lead_id = {} AND type = 'page_viewed' AND CAST(payload AS TEXT) LIKE '%pricing%'", lead.0),
    )
    .await;
    assert_eq!(left, 0, "the pages they read are erased with them");
}

/// A post whose view comes twice, with control bytes everywhere the script's text goes, for
/// an anonymous and a known visitor: stored once each, clean (a NUL would break PostgreSQL's
/// JSON and with it the whole batch).
async fn hostile_posts_are_stored_once_and_clean(store: Store) {
    let models = Models::new(store.clone());
    let tracker = tracker(&store).await;
    let now = now();
    let view = json!({"id": "view-twice-000000001", "url": "https://www.acme.example/a\u{0}b?utm_source=x\u{0}y&q=\u{0}",
                      "title": "\u{0}T\r\nitle", "at": now.timestamp_millis(), "seconds": 3, "visit": 1});
    let body = serde_json::to_vec(
        &json!({"tracker": "t_abcdefghij0123456789", "visitor": "hostile-visitor-000001",
                                          "views": [view.clone(), view]}),
    )
    .expect("json");
    let collected = leadgate_core::visits::Collected::parse(&body, "https://www.acme.example", now)
        .expect("read");
    let arrival = |visitor: &str| Arrival {
        tracker_id: tracker,
        visitor: visitor.into(),
        email: None,
        views: collected.views.clone(),
    };
    let lead = lead(&store, &models, "known@acme.example").await;
    identify(&store, &models, "known-visitor-0000001", lead, now)
        .await
        .expect("linked");
    let recorded = record(
        &store,
        vec![
            arrival("hostile-visitor-000001"),
            arrival("known-visitor-0000001"),
        ],
        &HashSet::new(),
        now,
    )
    .await
    .expect("recorded");
    assert_eq!(
        (recorded.kept, recorded.events),
        (1, 1),
        "posted twice, kept once each"
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM page_views").await, 1);
    let views = page_views_of(&store, lead).await;
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].1, "/a%00b");
}
