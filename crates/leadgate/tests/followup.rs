//! Tasks, interactions, notifications and the jobs API over real HTTP, on both engines.

#[macro_use]
mod common;

use chrono::{Duration, Utc};
use common::{fields, problem, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_engines!(
    tasks_are_created_listed_and_closed,
    interactions_are_logged_with_their_next_step,
    a_due_task_reminds_its_owner_through_the_job_worker,
    jobs_are_listed_and_only_dead_ones_retried,
);

async fn new_lead(app: &TestApp, body: Value) -> i64 {
    let response = app.post("/api/v1/leads", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn tasks_are_created_listed_and_closed(app: &TestApp) {
    let lead = new_lead(app, json!({"email": "ana@acme.io", "owner": "ana"})).await;
    let due = (Utc::now() + Duration::days(1)).to_rfc3339();
    let created = app
        .post(
            &format!("/api/v1/leads/{lead}/tasks"),
            &json!({"type": "call", "title": "Call about <b>pricing</b>", "due_at": due}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let task: Value = created.json().await.unwrap();
    assert_eq!(task["owner"], "ana");
    assert_eq!(task["state"], "open");
    assert_eq!(task["title"], "Call about <b>pricing</b>", "stored as text");

    let bad = app
        .post(
            &format!("/api/v1/leads/{lead}/tasks"),
            &json!({"type": "fax", "due_at": "next week", "owner": 7}),
        )
        .await;
    let body = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&body), ["due_at", "owner", "type"]);
    let missing = app
        .post(
            "/api/v1/leads/999/tasks",
            &json!({"type": "call", "due_at": due}),
        )
        .await;
    problem(missing, StatusCode::NOT_FOUND).await;

    let mine: Value = app
        .get("/api/v1/tasks?owner=ana")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["tasks"].as_array().unwrap().len(), 1);
    let overdue: Value = app
        .get("/api/v1/tasks?owner=ana&overdue=true")
        .await
        .json()
        .await
        .unwrap();
    assert!(overdue["tasks"].as_array().unwrap().is_empty());
    problem(
        app.get("/api/v1/tasks?state=late").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        app.get("/api/v1/tasks?limit=0").await,
        StatusCode::BAD_REQUEST,
    )
    .await;

    let id = task["id"].as_i64().unwrap();
    let done = app
        .post(&format!("/api/v1/tasks/{id}/complete"), &json!({}))
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(done.json::<Value>().await.unwrap()["state"], "done");
    let again = app
        .post(&format!("/api/v1/tasks/{id}/cancel"), &json!({}))
        .await;
    problem(again, StatusCode::CONFLICT).await;
    problem(
        app.post(&format!("/api/v1/tasks/{id}/snooze"), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(app.get("/api/v1/tasks/abc").await, StatusCode::NOT_FOUND).await;
    let open: Value = app
        .get("/api/v1/tasks?owner=ana")
        .await
        .json()
        .await
        .unwrap();
    assert!(open["tasks"].as_array().unwrap().is_empty());
    let all: Value = app
        .get("/api/v1/tasks?owner=ana&state=all")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["tasks"].as_array().unwrap().len(), 1);
}

async fn interactions_are_logged_with_their_next_step(app: &TestApp) {
    let lead = new_lead(app, json!({"email": "reza@tehran.ir", "owner": "sara"})).await;
    let next = (Utc::now() + Duration::days(2)).to_rfc3339();
    let logged = app
        .post(
            &format!("/api/v1/leads/{lead}/interactions"),
            &json!({"type": "call", "outcome": "connected", "duration_minutes": 14,
                    "notes": "بودجه تأیید شد", "next_step": {"type": "meeting", "title": "Demo", "due_at": next}}),
        )
        .await;
    assert_eq!(logged.status(), StatusCode::CREATED);
    let body: Value = logged.json().await.unwrap();
    assert!(body["event_id"].as_i64().unwrap() > 0);
    assert_eq!(body["next_step"]["owner"], "sara");

    let timeline: Value = app
        .get(&format!("/api/v1/leads/{lead}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let call = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "call_logged")
        .expect("the call is on the timeline");
    assert_eq!(call["payload"]["notes"], "بودجه تأیید شد");
    assert_eq!(call["payload"]["duration_minutes"], 14);

    let bad = app
        .post(
            &format!("/api/v1/leads/{lead}/interactions"),
            &json!({"type": "meeting", "outcome": "connected", "next_step": {"type": "call"}, "mood": "good"}),
        )
        .await;
    let body = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&body), ["mood", "next_step.due_at", "outcome"]);
    let not_json = app
        .client
        .post(app.url(&format!("/api/v1/leads/{lead}/interactions")))
        .bearer_auth(&app.key)
        .header("content-type", "application/json")
        .body("{type: call")
        .send()
        .await
        .unwrap();
    problem(not_json, StatusCode::BAD_REQUEST).await;
    // Nothing of the refused requests was stored.
    let tasks: Value = app
        .get(&format!("/api/v1/tasks?lead_id={lead}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 1);
}

async fn a_due_task_reminds_its_owner_through_the_job_worker(app: &TestApp) {
    let lead = new_lead(app, json!({"email": "lan@hanoi.vn", "owner": "lan"})).await;
    let due = (Utc::now() - Duration::minutes(5)).to_rfc3339();
    app.post(
        &format!("/api/v1/leads/{lead}/tasks"),
        &json!({"type": "email", "title": "Send the quote", "due_at": due}),
    )
    .await;
    problem(
        app.get("/api/v1/notifications").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let _worker = leadgate::jobs::start(&app.store, Duration::seconds(30), Default::default());
    let notifications = app
        .get_json_until("/api/v1/notifications?recipient=lan&unread=true", |n| {
            !n["notifications"].as_array().unwrap().is_empty()
        })
        .await;
    let first = &notifications["notifications"][0];
    assert_eq!(first["kind"], "task_due");
    assert!(first["message"]
        .as_str()
        .unwrap()
        .contains("Send the quote"));
    let id = first["id"].as_i64().unwrap();
    let read = app
        .post(&format!("/api/v1/notifications/{id}/read"), &json!({}))
        .await;
    assert_eq!(read.status(), StatusCode::NO_CONTENT);
    let unread: Value = app
        .get("/api/v1/notifications?recipient=lan&unread=true")
        .await
        .json()
        .await
        .unwrap();
    assert!(unread["notifications"].as_array().unwrap().is_empty());
    problem(
        app.post("/api/v1/notifications/4242/read", &json!({}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn jobs_are_listed_and_only_dead_ones_retried(app: &TestApp) {
    let lead = new_lead(app, json!({"email": "kim@acme.io"})).await;
    let due = (Utc::now() + Duration::hours(1)).to_rfc3339();
    app.post(
        &format!("/api/v1/leads/{lead}/tasks"),
        &json!({"type": "call", "due_at": due}),
    )
    .await;
    let queued: Value = app
        .get("/api/v1/jobs?state=queued&kind=task_reminder")
        .await
        .json()
        .await
        .unwrap();
    let jobs = queued["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1);
    let id = jobs[0]["id"].as_i64().unwrap();
    let bad = problem(
        app.get("/api/v1/jobs?state=stuck&kind=x").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(fields(&bad), ["kind", "state"]);
    let view: Value = app
        .get(&format!("/api/v1/jobs/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["kind"], "task_reminder");
    assert!(view["runs"].as_array().unwrap().is_empty());
    let retry = app
        .post(&format!("/api/v1/jobs/{id}/retry"), &json!({}))
        .await;
    let body = problem(retry, StatusCode::CONFLICT).await;
    assert!(body["detail"].as_str().unwrap().contains("only a dead job"));
    problem(app.get("/api/v1/jobs/77").await, StatusCode::NOT_FOUND).await;
}
