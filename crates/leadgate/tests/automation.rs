//! Automation over real HTTP, on both engines: a policy's rules applied through the API fire
//! on events posted to it (the job worker running), and the dry run answers without acting.

#[macro_use]
mod common;

use common::{fields, problem, TestApp};
use leadgate_core::policy::Policy;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_engines!(rules_fire_on_posted_events_and_the_dry_run_only_counts);

const RULE: &str = r#"
[[automation]]
name = "Call pricing visitors"
on = "page_viewed"
where = { page = "/pricing" }
do = [{ create_task = "call", title = "Call: looked at pricing", due_in = "2h" }]
"#;

async fn rules_fire_on_posted_events_and_the_dry_run_only_counts(app: &TestApp) {
    let lead = app
        .post(
            "/api/v1/leads",
            &json!({"email": "reza@tehran.ir", "owner": "sara"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let views = json!({"events": [
        {"lead_id": lead, "type": "page_viewed", "payload": {"page": "/pricing"}},
        {"lead_id": lead, "type": "page_viewed", "payload": {"page": "/blog"}},
    ]});
    app.post("/api/v1/events", &views).await;

    let document = format!("{}{RULE}", Policy::STARTER);
    let dry: Value = app
        .post(
            "/api/v1/policies/automation-dry-run",
            &json!({"document": document, "days": 7}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(dry["events_scanned"], 2);
    assert_eq!(dry["fired"][0], json!(["Call pricing visitors", 1]));
    let bad = app
        .post(
            "/api/v1/policies/automation-dry-run",
            &json!({"days": 0, "mood": 1}),
        )
        .await;
    assert_eq!(
        fields(&problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["days", "mood"]
    );
    let broken = document.replace("on = \"page_viewed\"", "on = \"page_view\"");
    let refused = app
        .post(
            "/api/v1/policies/automation-dry-run",
            &json!({"document": broken}),
        )
        .await;
    problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    let tasks: Value = app
        .get(&format!("/api/v1/tasks?lead_id={lead}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        tasks["tasks"].as_array().unwrap().is_empty(),
        "a dry run acts on nothing"
    );

    let applied = app
        .post(
            "/api/v1/policies",
            &json!({"document": document, "message": "call pricing visitors"}),
        )
        .await;
    assert_eq!(applied.status(), StatusCode::CREATED);
    let _worker = leadgate::jobs::start(
        &app.store,
        chrono::Duration::seconds(30),
        Default::default(),
    );
    app.post(
        "/api/v1/events",
        &json!({"events": [{"lead_id": lead, "type": "page_viewed", "payload": {"page": "/pricing"}}]}),
    )
    .await;
    let found = app
        .get_json_until(&format!("/api/v1/tasks?lead_id={lead}"), |found| {
            !found["tasks"].as_array().unwrap().is_empty()
        })
        .await;
    let task = &found["tasks"][0];
    assert_eq!(task["title"], "Call: looked at pricing");
    assert_eq!(task["owner"], "sara");
    assert_eq!(task["created_by"], "automation:1:Call pricing visitors");
}
