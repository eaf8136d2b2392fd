//! Automation rules against real databases, on SQLite and PostgreSQL: rules fire on stored
//! events and act (tasks, tags, notifications, moves), chains stop at the depth limit, and a
//! dry run shows what rules would have done without doing it.

use chrono::{Duration, Utc};
use leadgate_app::qualify::{refresh_lead, transition};
use leadgate_app::rescore::rescore_due;
use leadgate_core::event::LeadRef;
use leadgate_core::id::LeadId;
use leadgate_core::policy::Policy;
use leadgate_core::{EventDraft, EventType, Stage};
use leadgate_store::testing::capture as lead;
use leadgate_store::testing::count;
use leadgate_store::Store;
use serde_json::{json, Value};

leadgate_store::on_both_engines!(
    rules_act_on_events_and_chains_stop_at_the_depth_limit,
    a_dry_run_counts_what_rules_would_have_done,
    quiet_leads_are_nudged_once_per_quiet_spell,
    a_lead_turning_hot_sets_off_its_rule,
    a_sequence_runs_its_steps_and_stops_when_the_lead_replies,
);

const RULES: &str = r#"
[[automation]]
name = "Call webinar attendees"
on = "webinar_attended"
where = { webinar = "pricing-101" }
do = [
  { create_task = "call", title = "Call after the webinar", due_in = "4h" },
  { notify = "owner", message = "Your lead attended the pricing webinar" },
]

[[automation]]
name = "Tag followed-up leads"
on = "task_created"
do = [{ add_tag = "followed" }]

[[automation]]
name = "Check tagged leads"
on = "field_changed"
where = { field = "custom.tags" }
do = [{ create_task = "todo", title = "Check the tags" }]

[[automation]]
name = "Meetings make MQLs"
on = "meeting_booked"
stage = ["lead"]
do = [{ move_to = "mql", reason = "booked a meeting" }, { add_tag = "meeting" }]
"#;

async fn event(store: &Store, lead: LeadId, event_type: EventType, payload: Value) {
    let draft = EventDraft::new(event_type, Utc::now(), payload);
    let outcome = store
        .append_events(vec![Ok((LeadRef::Id(lead), draft))], "apikey:site")
        .await
        .unwrap();
    assert!(matches!(
        outcome[0],
        leadgate_store::AppendOutcome::Accepted { .. }
    ));
}

/// Runs due jobs until none is left (rules' actions queue more).
async fn settle(store: &Store) -> usize {
    let mut runs = 0;
    for _ in 0..20 {
        let now = Utc::now();
        let jobs = store
            .claim_jobs("test", 100, Duration::seconds(60), now)
            .await
            .unwrap();
        if jobs.is_empty() {
            return runs;
        }
        for job in jobs {
            assert!(leadgate_app::jobs::perform(store, &job, now).await.unwrap());
            runs += 1;
        }
    }
    panic!("jobs kept coming: a loop");
}

async fn rules_act_on_events_and_chains_stop_at_the_depth_limit(store: Store) {
    store
        .apply_policy(&format!("{}{RULES}", Policy::STARTER), "ops", "automation")
        .await
        .unwrap();
    let id = lead(&store, json!({"email": "an@hanoi.vn", "owner": "minh"})).await;
    event(
        &store,
        id,
        EventType::WebinarAttended,
        json!({"webinar": "Pricing-101"}),
    )
    .await;
    settle(&store).await;

    // webinar -> task (rule 1) -> tag (rule 2) -> task (rule 3) -> rule 2 would fire again,
    // but the chain is three rules deep: it stops.
    let fired = |rule: &str| {
        format!("SELECT COUNT(*) FROM events WHERE type = 'automation_fired' AND lead_id = {id} AND actor LIKE '%{rule}'")
    };
    assert_eq!(count(&store, &fired("Call webinar attendees")).await, 1);
    assert_eq!(count(&store, &fired("Tag followed-up leads")).await, 1);
    assert_eq!(count(&store, &fired("Check tagged leads")).await, 1);
    assert_eq!(
        count(
            &store,
            &format!("SELECT COUNT(*) FROM tasks WHERE lead_id = {id}")
        )
        .await,
        2
    );
    let stored = store.lead(id).await.unwrap();
    assert_eq!(stored.lead.custom["tags"], json!(["followed"]));
    let told = store.notifications("minh", true, 10).await.unwrap();
    assert!(
        told.iter().any(
            |n| n.kind == "automation" && n.message == "Your lead attended the pricing webinar"
        ),
        "{told:?}"
    );
    let task_actor = count(
        &store,
        &format!("SELECT COUNT(*) FROM tasks WHERE lead_id = {id} AND created_by = 'automation:1:Call webinar attendees'"),
    )
    .await;
    assert_eq!(task_actor, 1, "what a rule does is recorded as its doing");

    // Another webinar: payload condition not met, nothing fires.
    event(
        &store,
        id,
        EventType::WebinarAttended,
        json!({"webinar": "intro"}),
    )
    .await;
    settle(&store).await;
    assert_eq!(count(&store, &fired("Call webinar attendees")).await, 1);

    // A move by a rule goes through the lifecycle with its reason.
    let other = lead(&store, json!({"email": "binh@hanoi.vn"})).await;
    event(&store, other, EventType::MeetingBooked, json!({})).await;
    settle(&store).await;
    let moved = store.lead(other).await.unwrap();
    assert_eq!(moved.lead.stage, Stage::Mql);
    // The tag set off the tagging chain too (check task, then "followed").
    assert_eq!(moved.lead.custom["tags"], json!(["meeting", "followed"]));
    let timeline = store.timeline(other, 50, None).await.unwrap();
    let change = timeline
        .events
        .iter()
        .find(|e| e.event_type == "stage_changed")
        .unwrap();
    assert_eq!(change.payload.0["reason"], "booked a meeting");
    assert_eq!(
        change.actor.as_deref(),
        Some("automation:1:Meetings make MQLs")
    );
    // Booked again as an MQL: the stage condition keeps the rule quiet.
    event(&store, other, EventType::MeetingBooked, json!({})).await;
    settle(&store).await;
    let meetings = format!(
        "SELECT COUNT(*) FROM events WHERE type = 'automation_fired' AND lead_id = {other} AND actor LIKE '%Meetings make MQLs'"
    );
    assert_eq!(count(&store, &meetings).await, 1);
}

async fn a_dry_run_counts_what_rules_would_have_done(store: Store) {
    let a = lead(&store, json!({"email": "a@hanoi.vn"})).await;
    let b = lead(&store, json!({"email": "b@hanoi.vn"})).await;
    for (id, webinar) in [(a, "pricing-101"), (b, "pricing-101"), (b, "intro")] {
        event(
            &store,
            id,
            EventType::WebinarAttended,
            json!({"webinar": webinar}),
        )
        .await;
    }
    let candidate = Policy::parse(&format!("{}{RULES}", Policy::STARTER)).unwrap();
    let jobs_before = count(&store, "SELECT COUNT(*) FROM jobs").await;
    let dry = leadgate_app::automation::dry_run(
        &store,
        &candidate,
        Utc::now() - Duration::days(30),
        10_000,
    )
    .await
    .unwrap();
    assert_eq!(dry.events_scanned, 3);
    assert_eq!(dry.fired[0], ("Call webinar attendees".to_owned(), 2));
    assert_eq!(dry.hits.len(), 2);
    assert!(dry.hits[0].actions[0].starts_with("create a call task"));
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM jobs").await,
        jobs_before,
        "a dry run writes nothing"
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM tasks").await, 0);
    let later = leadgate_app::automation::dry_run(
        &store,
        &candidate,
        Utc::now() + Duration::days(1),
        10_000,
    )
    .await
    .unwrap();
    assert_eq!(later.events_scanned, 0);
}

async fn quiet_leads_are_nudged_once_per_quiet_spell(store: Store) {
    let rule = "[[automation]]\nname = \"Nudge quiet leads\"\non = \"inactive\"\ndays = 14\nstage = [\"lead\"]\ndo = [{ create_task = \"call\", title = \"Wake them up\" }]\n";
    store
        .apply_policy(&format!("{}{rule}", Policy::STARTER), "ops", "nudge")
        .await
        .unwrap();
    let quiet = lead(&store, json!({"email": "quiet@hanoi.vn", "owner": "lan"})).await;
    let customer = lead(&store, json!({"email": "done@hanoi.vn"})).await;
    transition(&store, customer, Stage::Mql, Some("called us"), false, "x")
        .await
        .unwrap();
    let now = Utc::now();
    assert_eq!(
        leadgate_app::automation::run_inactivity(&store, now + Duration::days(13))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        leadgate_app::automation::run_inactivity(&store, now + Duration::days(15))
            .await
            .unwrap(),
        1,
        "only the quiet lead in stage lead"
    );
    let tasks = count(
        &store,
        &format!("SELECT COUNT(*) FROM tasks WHERE lead_id = {quiet} AND title = 'Wake them up'"),
    )
    .await;
    assert_eq!(tasks, 1);
    // The nudge (a task) is activity: quiet again only 14 days later.
    assert_eq!(
        leadgate_app::automation::run_inactivity(&store, now + Duration::days(16))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        leadgate_app::automation::run_inactivity(&store, now + Duration::days(30))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM events WHERE type = 'automation_fired'"
        )
        .await,
        2
    );
}

async fn a_lead_turning_hot_sets_off_its_rule(store: Store) {
    let rule = "[[automation]]\nname = \"Call hot leads\"\non = \"grade_changed\"\nwhere = { temperature = \"hot\", from_temperature = [\"warm\", \"cold\"] }\ndo = [{ create_task = \"call\", title = \"It turned hot\" }]\n";
    store
        .apply_policy(&format!("{}{rule}", Policy::STARTER), "ops", "hot leads")
        .await
        .unwrap();
    let id = lead(
        &store,
        json!({"email": "li.wei@cloudline.cn", "job_title": "CTO", "industry": "Software",
               "company_size": 240, "product_need": "lead routing", "owner": "li.na"}),
    )
    .await;
    refresh_lead(&store, id, Utc::now()).await.unwrap();
    let before = store.lead(id).await.unwrap().snapshot.unwrap();
    assert_ne!(before.temperature, "hot");
    event(&store, id, EventType::MeetingBooked, json!({})).await;
    event(
        &store,
        id,
        EventType::WebinarAttended,
        json!({"webinar": "pricing-101"}),
    )
    .await;
    event(
        &store,
        id,
        EventType::WebinarAttended,
        json!({"webinar": "roadmap"}),
    )
    .await;
    rescore_due(&store, 500, Utc::now()).await.unwrap();
    let changed = count(
        &store,
        &format!("SELECT COUNT(*) FROM events WHERE type = 'grade_changed' AND lead_id = {id}"),
    )
    .await;
    assert_eq!(changed, 1);
    settle(&store).await;
    let tasks = count(
        &store,
        &format!("SELECT COUNT(*) FROM tasks WHERE lead_id = {id} AND title = 'It turned hot'"),
    )
    .await;
    assert_eq!(tasks, 1);
    // Rescoring again changes nothing: no new grade_changed, no second task.
    refresh_lead(&store, id, Utc::now()).await.unwrap();
    settle(&store).await;
    assert_eq!(
        count(
            &store,
            &format!("SELECT COUNT(*) FROM events WHERE type = 'grade_changed' AND lead_id = {id}")
        )
        .await,
        1
    );
}

async fn run_at(store: &Store, now: chrono::DateTime<Utc>) {
    for _ in 0..20 {
        let jobs = store
            .claim_jobs("test", 100, Duration::seconds(60), now)
            .await
            .unwrap();
        if jobs.is_empty() {
            return;
        }
        for job in jobs {
            assert!(leadgate_app::jobs::perform(store, &job, now).await.unwrap());
        }
    }
    panic!("jobs kept coming");
}

async fn a_sequence_runs_its_steps_and_stops_when_the_lead_replies(store: Store) {
    let rules = r#"
[[sequence]]
name = "Welcome"
steps = [
  { after = "1d", add_tag = "welcomed" },
  { after = "3d", create_task = "call", title = "Check in" },
]

[[automation]]
name = "Welcome new leads"
on = "form_submitted"
do = [{ enrol = "Welcome" }]
"#;
    store
        .apply_policy(
            &format!("{}{rules}", Policy::STARTER),
            "ops",
            "welcome sequence",
        )
        .await
        .unwrap();
    let broken = Policy::parse(&format!(
        "{}{}",
        Policy::STARTER,
        rules.replace("enrol = \"Welcome\"", "enrol = \"Hello\"")
    ))
    .unwrap_err();
    assert!(
        broken.0[0].message.contains("sequence 'Hello'"),
        "{broken:?}"
    );

    let quiet = lead(&store, json!({"email": "q@hanoi.vn"})).await;
    let talker = lead(&store, json!({"email": "t@hanoi.vn"})).await;
    let t0 = Utc::now();
    run_at(&store, t0).await; // the rule enrols both
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM sequence_enrolments WHERE state = 'active'"
        )
        .await,
        2
    );
    // The talker answers a call before the first step.
    let call = serde_json::from_value::<leadgate_core::followup::InteractionRequest>(
        json!({"type": "call", "outcome": "connected"}),
    )
    .unwrap()
    .check(Utc::now())
    .unwrap();
    leadgate_app::followup::log_interaction(&store, talker, &call, "rep", Utc::now())
        .await
        .unwrap();

    run_at(&store, t0 + Duration::hours(25)).await;
    assert_eq!(
        store.lead(quiet).await.unwrap().lead.custom["tags"],
        json!(["welcomed"])
    );
    assert!(store
        .lead(talker)
        .await
        .unwrap()
        .lead
        .custom
        .get("tags")
        .is_none());
    let stopped = count(&store, &format!("SELECT COUNT(*) FROM sequence_enrolments WHERE lead_id = {talker} AND state = 'stopped' AND stopped_reason = 'the lead replied'")).await;
    assert_eq!(stopped, 1);

    run_at(&store, t0 + Duration::hours(25 + 73)).await;
    assert_eq!(
        count(
            &store,
            &format!("SELECT COUNT(*) FROM tasks WHERE lead_id = {quiet} AND title = 'Check in'")
        )
        .await,
        1
    );
    assert_eq!(count(&store, &format!("SELECT COUNT(*) FROM sequence_enrolments WHERE lead_id = {quiet} AND state = 'finished'")).await, 1);
}
