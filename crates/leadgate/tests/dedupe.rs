//! Duplicate people found, merged, reviewed and undone, over real HTTP on both engines.

#[macro_use]
mod common;

use common::{problem, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_engines!(
    duplicates_are_merged_suggested_and_undone,
    captures_and_imports_are_matched_as_they_arrive,
);

async fn lead(app: &TestApp, body: Value) -> Value {
    let response = app.post("/api/v1/leads", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{body}");
    response.json().await.unwrap()
}

/// Edits the lead's company (an edit is not matched as a capture is).
async fn move_to(app: &TestApp, lead: &Value, company: &str) {
    let response = app
        .patch(
            &format!("/api/v1/leads/{}", lead["id"]),
            &json!({ "company": company }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn duplicates_are_merged_suggested_and_undone(app: &TestApp) {
    // One person twice with two emails (auto merge), a typo (suggestion), a namesake at
    // another company (left alone). Each duplicate arrives at another company, so capture
    // does not match it, and is then edited to where the pass over the store finds it.
    let minh = lead(
        app,
        json!({"first_name": "Minh Anh", "last_name": "Nguyễn", "email": "minh@saigonexpress.vn",
                               "company": "Saigon Express JSC"}),
    )
    .await;
    let minh2 = lead(app, json!({"first_name": "Minh Anh", "last_name": "Nguyen", "email": "minh.anh@gmail.com",
                                "company": "Hanoi Freight", "phone": "+84 28 3822 1111", "job_title": "Giám đốc"})).await;
    let lukas = lead(app, json!({"first_name": "Lukas", "last_name": "Müller", "company": "Müller GmbH", "email": "lm@mueller.de"})).await;
    let lukas2 = lead(
        app,
        json!({"first_name": "Lukas", "last_name": "Mülelr", "company": "Schmidt AG"}),
    )
    .await;
    let none: Value = app.get("/api/v1/merges").await.json().await.unwrap();
    assert_eq!(none["merges"], json!([]), "no match at another company");
    move_to(app, &minh2, "Công ty TNHH Saigon Express").await;
    move_to(app, &lukas2, "Müller GmbH").await;
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
    assert_eq!(
        (pass["merged"].as_i64(), pass["suggested"].as_i64()),
        (Some(0), Some(0)),
        "an undone merge stays undone: {pass}"
    );
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

async fn merges_in(app: &TestApp, status: &str) -> Vec<Value> {
    let body: Value = app
        .get(&format!("/api/v1/merges?status={status}"))
        .await
        .json()
        .await
        .unwrap();
    body["merges"].as_array().unwrap().clone()
}

async fn captures_and_imports_are_matched_as_they_arrive(app: &TestApp) {
    // Persian letter variants (ي/ی, ك/ک) and a personal address: the same person at the
    // same company, merged as the second lead arrives.
    let sara = lead(
        app,
        json!({"first_name": "سارا", "last_name": "کریمی", "email": "sara@parsian.ir",
                               "company": "شرکت پارسیان"}),
    )
    .await;
    let again = lead(
        app,
        json!({"first_name": "سارا", "last_name": "كريمي", "email": "sara.karimi@gmail.com",
                                "company": "پارسیان", "job_title": "مدیر فروش"}),
    )
    .await;
    assert_eq!(again["person_id"], sara["person_id"], "{again}");
    assert_eq!(again["job_title"], "مدیر فروش");
    let merged = merges_in(app, "merged").await;
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0]["kept_person"], sara["person_id"]);
    assert_eq!(merged[0]["actor"], "apikey:tests");

    // The same phone and name, no company: merged. A typo at one company: suggested.
    let wei = lead(
        app,
        json!({"first_name": "伟", "last_name": "王", "phone": "+86 10 6552 9988", "country": "CN"}),
    )
    .await;
    let wei2 = lead(
        app,
        json!({"first_name": "Wei", "last_name": "Wang", "email": "w@x.cn"}),
    )
    .await;
    assert_ne!(
        wei2["person_id"], wei["person_id"],
        "a name in another script alone is not enough"
    );
    let wei3 = lead(
        app,
        json!({"first_name": "伟", "last_name": "王", "phone": "010 6552 9988", "country": "China"}),
    )
    .await;
    assert_eq!(wei3["person_id"], wei["person_id"]);
    let anh = lead(
        app,
        json!({"first_name": "Thị Anh", "last_name": "Trần", "email": "anh@vinamilk.vn",
                              "company": "Vinamilk"}),
    )
    .await;
    let typo = lead(
        app,
        json!({"first_name": "Thi Anh", "last_name": "Tranh", "company": "Vinamilk"}),
    )
    .await;
    assert_ne!(typo["person_id"], anh["person_id"]);
    let suggested = merges_in(app, "suggested").await;
    assert_eq!(suggested.len(), 1, "{suggested:?}");
    assert_eq!(
        (&suggested[0]["kept_person"], &suggested[0]["merged_person"]),
        (&anh["person_id"], &typo["person_id"])
    );

    // A capture's merge is undone like any other, and the pair stays apart after.
    let id = merged[0]["id"].as_i64().unwrap();
    let undone = app
        .post(&format!("/api/v1/merges/{id}/undo"), &json!({}))
        .await;
    assert_eq!(undone.status(), StatusCode::OK);
    let back: Value = app
        .get(&format!("/api/v1/leads/{}", again["id"]))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(back["person_id"], sara["person_id"]);

    // An import: one row another email of a known person (merged), one a new person.
    let lukas = lead(
        app,
        json!({"first_name": "Lukas", "last_name": "Weber", "email": "lukas@weber-logistik.de",
                                "company": "Weber Logistik GmbH"}),
    )
    .await;
    let csv = "email,first name,last name,company\nl.weber@gmail.com,Lukas,Weber,Weber Logistik\nana@acme.io,Ana,Lima,Acme\n";
    let response = app.post_csv("", csv).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let report: Value = response.json().await.unwrap();
    assert_eq!(
        (&report["import"]["inserted"], &report["import"]["merged"]),
        (&json!(2), &json!(1)),
        "{report}"
    );
    let import = report["import"]["id"].as_i64().unwrap();
    let merged = merges_in(app, "merged").await;
    let by_import = merged
        .iter()
        .find(|m| m["actor"] == format!("import:{import}"))
        .expect("the import's merge");
    assert_eq!(by_import["kept_person"], lukas["person_id"]);
}
