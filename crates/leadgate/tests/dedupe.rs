//! Duplicate people found, merged, reviewed and undone, over real HTTP on both engines.

#[macro_use]
mod common;

use common::{problem, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_engines!(duplicates_are_merged_suggested_and_undone);

async fn lead(app: &TestApp, body: Value) -> Value {
    let response = app.post("/api/v1/leads", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{body}");
    response.json().await.unwrap()
}

async fn duplicates_are_merged_suggested_and_undone(app: &TestApp) {
    // One person twice with two emails (auto merge), a typo (suggestion), a namesake at
    // another company (left alone).
    let minh = lead(
        app,
        json!({"first_name": "Minh Anh", "last_name": "Nguyễn", "email": "minh@saigonexpress.vn",
                               "company": "Saigon Express JSC"}),
    )
    .await;
    let minh2 = lead(app, json!({"first_name": "Minh Anh", "last_name": "Nguyen", "email": "minh.anh@gmail.com",
                                "company": "Công ty TNHH Saigon Express", "phone": "+84 28 3822 1111", "job_title": "Giám đốc"})).await;
    let lukas = lead(app, json!({"first_name": "Lukas", "last_name": "Müller", "company": "Müller GmbH", "email": "lm@mueller.de"})).await;
    let lukas2 = lead(
        app,
        json!({"first_name": "Lukas", "last_name": "Mülelr", "company": "Müller GmbH"}),
    )
    .await;
    let namesake = lead(
        app,
        json!({"first_name": "Minh Anh", "last_name": "Nguyễn", "company": "Vinasoft"}),
    )
    .await;
    app.post(
        "/api/v1/events",
        &json!({"events": [
        {"lead_id": minh2["id"], "type": "webinar_attended", "payload": {"webinar": "BANT"}}]}),
    )
    .await;

    let dry: Value = app
        .post("/api/v1/dedupe?dry_run=true", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (dry["merged"].as_i64(), dry["suggested"].as_i64()),
        (Some(1), Some(1)),
        "{dry}"
    );
    assert!(app
        .get("/api/v1/merges")
        .await
        .json::<Value>()
        .await
        .unwrap()["merges"]
        .as_array()
        .unwrap()
        .is_empty());

    let done: Value = app
        .post("/api/v1/dedupe", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (done["merged"].as_i64(), done["suggested"].as_i64()),
        (Some(1), Some(1)),
        "{done}"
    );
    let merged: Value = app
        .get("/api/v1/merges?status=merged")
        .await
        .json()
        .await
        .unwrap();
    let merge = &merged["merges"][0];
    assert_eq!(merge["kept_person"], minh["person_id"]);
    assert_eq!(merge["moved_leads"], json!([minh2["id"]]));

    // Both leads are now one person's, whose empty fields were filled in; the email stays.
    let moved: Value = app
        .get(&format!("/api/v1/leads/{}", minh2["id"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["person_id"], minh["person_id"]);
    let kept: Value = app
        .get(&format!("/api/v1/leads/{}", minh["id"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kept["phone"], "+842838221111");
    assert_eq!(kept["job_title"], "Giám đốc");
    assert_eq!(kept["email"], "minh@saigonexpress.vn");
    let timeline: Value = app
        .get(&format!("/api/v1/leads/{}/timeline", minh2["id"]))
        .await
        .json()
        .await
        .unwrap();
    let event = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "person_merged")
        .unwrap();
    assert!(event["payload"]["score"].as_f64().unwrap() >= 0.95);
    assert_eq!(event["actor"], "apikey:tests");
    // The merged person's email now leads to the kept person.
    let again = app
        .post(
            "/api/v1/leads",
            &json!({"email": "MINH.ANH@gmail.com", "custom": {"x": 1}}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK, "matched, not a new lead");

    // The suggestion waits for a person.
    let suggested: Value = app
        .get("/api/v1/merges?status=suggested")
        .await
        .json()
        .await
        .unwrap();
    let suggestion = &suggested["merges"][0];
    assert_eq!(suggestion["kept_person"], lukas["person_id"]);
    assert_eq!(suggestion["merged_person"], lukas2["person_id"]);
    let id = suggestion["id"].as_i64().unwrap();
    let applied: Value = app
        .post(&format!("/api/v1/merges/{id}/apply"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(applied["status"], "merged");
    let twice = app
        .post(&format!("/api/v1/merges/{id}/apply"), &json!({}))
        .await;
    problem(twice, StatusCode::CONFLICT).await;

    // Undo puts everything back.
    let first = merge["id"].as_i64().unwrap();
    let undone: Value = app
        .post(&format!("/api/v1/merges/{first}/undo"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(undone["status"], "undone");
    let back: Value = app
        .get(&format!("/api/v1/leads/{}", minh2["id"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back["person_id"], minh2["person_id"]);
    let restored: Value = app
        .get(&format!("/api/v1/leads/{}", minh["id"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(restored["phone"], Value::Null);
    assert_eq!(restored["job_title"], Value::Null);

    // A second pass does not suggest what was decided already.
    let pass: Value = app
        .post("/api/v1/dedupe", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pass["suggested"], 0, "{pass}");
    let untouched: Value = app
        .get(&format!("/api/v1/leads/{}", namesake["id"]))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(untouched["person_id"], minh["person_id"]);
    problem(
        app.post("/api/v1/merges/99/apply", &json!({})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.post(&format!("/api/v1/merges/{id}/explode"), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.get("/api/v1/merges?status=maybe").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}
