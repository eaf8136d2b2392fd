//! CSV imports and exports over real HTTP, on SQLite and on PostgreSQL.

#[macro_use]
mod common;

use common::{problem, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;

on_both_engines!(
    a_csv_upload_imports_and_reports_its_rejects,
    a_multipart_upload_takes_a_mapping_and_a_dry_run,
    bad_uploads_are_refused_with_the_field_named,
    a_dry_run_names_columns_filled_after_the_outcome,
    the_filtered_leads_export_as_safe_csv,
);

const PEOPLE: &str = "email,first name,company,employees\nana@acme.io,Ana,Acme,12\nnot-an-email,Bo,Beta,3\n=cmd|' /C calc'!A0,Eve,Evil,1\nwei@tianhe.cn,王伟,天河机械有限公司,80\n";

async fn a_csv_upload_imports_and_reports_its_rejects(app: &TestApp) {
    let response = app.post_csv("", PEOPLE).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["guessed"], true);
    assert_eq!(report["import"]["inserted"], 2, "{report}");
    assert_eq!(report["import"]["rejected"], 2);
    let id = report["import"]["id"].as_i64().unwrap();
    assert_eq!(
        report["rejects_url"],
        format!("/api/v1/imports/{id}/rejects")
    );

    let rejects = app.get(&format!("/api/v1/imports/{id}/rejects")).await;
    assert_eq!(rejects.headers()["content-type"], "text/csv; charset=utf-8");
    let text = rejects.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "row,column,reason");
    assert!(lines[1].starts_with("3,email,"), "{text}");
    // A reject quoting a formula is defused too.
    assert!(lines[2].starts_with("4,email,"), "{text}");

    let listed: Value = app.get("/api/v1/imports").await.json().await.unwrap();
    assert_eq!(listed["imports"][0]["id"], id);
    let one: Value = app
        .get(&format!("/api/v1/imports/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["status"], "finished");

    // The same file again is refused as done; with again=true it changes nothing.
    let again = app.post_csv("", PEOPLE).await;
    let body = problem(again, StatusCode::CONFLICT).await;
    assert!(body["detail"].as_str().unwrap().contains("again"), "{body}");
    let forced: Value = app
        .post_csv("?again=true", PEOPLE)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(forced["import"]["unchanged"], 2, "{forced}");
    assert_eq!(forced["import"]["inserted"], 0);
}

async fn a_multipart_upload_takes_a_mapping_and_a_dry_run(app: &TestApp) {
    let mapping = "[[column]]\nname = \"email\"\nfield = \"email\"\n[[column]]\nname = \"employees\"\nfield = \"custom.headcount\"\ntype = \"integer\"\n";
    let form = || {
        Form::new()
            .part("file", Part::text(PEOPLE).file_name("people.csv"))
            .text("mapping", mapping)
    };
    let dry = app
        .client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(&app.key)
        .multipart(form().text("dry_run", "true"))
        .send()
        .await
        .unwrap();
    assert_eq!(dry.status(), StatusCode::OK);
    let dry: Value = dry.json().await.unwrap();
    assert_eq!(dry["import"], Value::Null);
    assert_eq!(
        (dry["valid"].as_i64(), dry["rejected"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(dry["rejects"][0]["row_number"], 3);
    assert_eq!(dry["rejects"][0]["column"], "email");
    assert_eq!(
        dry["ignored_columns"],
        serde_json::json!(["first name", "company"])
    );
    let none: Value = app.get("/api/v1/leads").await.json().await.unwrap();
    assert_eq!(
        none["leads"].as_array().unwrap().len(),
        0,
        "a dry run stores nothing"
    );

    let real = app
        .client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(&app.key)
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(real.status(), StatusCode::CREATED);
    let real: Value = real.json().await.unwrap();
    assert_eq!(real["import"]["file_name"], "people.csv");
    assert_eq!(real["import"]["inserted"], 2);
    let leads: Value = app
        .get("/api/v1/leads?q=tianhe")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(leads["leads"][0]["custom"]["headcount"], 80);
    assert_eq!(leads["leads"][0]["channel"], "import");
}

async fn a_dry_run_names_columns_filled_after_the_outcome(app: &TestApp) {
    // 200 closed leads whose "Call status" is the outcome written down, and a fair trait.
    let mut csv = String::from("Email,Converted,Call status,Seats\n");
    for i in 0..200 {
        let won = i % 5 == 0;
        let status = if won == (i % 23 != 0) {
            "Interested"
        } else {
            "No answer"
        };
        csv.push_str(&format!(
            "p{i}@example.com,{},{status},{}\n",
            u8::from(won),
            i % 7
        ));
    }
    let response = app.post_csv("?dry_run=true", &csv).await;
    assert_eq!(response.status(), StatusCode::OK);
    let dry: Value = response.json().await.unwrap();
    let suspects = dry["suspect_columns"].as_array().unwrap();
    assert_eq!(suspects.len(), 1, "{suspects:?}");
    let sentence = suspects[0].as_str().unwrap();
    for part in [
        "\"Call status\" (custom.call_status)",
        "its name (\"status\")",
        "far better than any other column",
        "marked after_outcome in the guessed mapping",
    ] {
        assert!(sentence.contains(part), "{part}: {sentence}");
    }
    assert!(dry["mapping"]
        .as_str()
        .unwrap()
        .contains("field = \"custom.call_status\"\nafter_outcome = true"));
}

async fn bad_uploads_are_refused_with_the_field_named(app: &TestApp) {
    let cases: [(&str, &str, StatusCode, &str); 3] = [
        (
            "",
            "",
            StatusCode::UNPROCESSABLE_ENTITY,
            "the file is empty",
        ),
        (
            "",
            "email,name\n",
            StatusCode::UNPROCESSABLE_ENTITY,
            "a header but no rows",
        ),
        (
            "?dry_run=maybe",
            "email\na@b.io\n",
            StatusCode::BAD_REQUEST,
            "",
        ),
    ];
    for (query, body, status, detail) in cases {
        let response = app.post_csv(query, body).await;
        assert_eq!(response.status(), status, "{query} {body:?}");
        let text = response.text().await.unwrap();
        assert!(text.contains(detail), "{text}");
    }
    let json = app
        .post("/api/v1/imports", &serde_json::json!({"file": "x"}))
        .await;
    let body = problem(json, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert!(body["detail"].as_str().unwrap().contains("text/csv"));

    let bad_mapping = app
        .client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(&app.key)
        .multipart(
            Form::new()
                .part("file", Part::text("email\na@b.io\n"))
                .text(
                    "mapping",
                    "[[column]]\nname = \"email\"\nfield = \"e-mail\"\n",
                ),
        )
        .send()
        .await
        .unwrap();
    let body = problem(bad_mapping, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "mapping: column \"email\"");
    let no_file = app
        .client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(&app.key)
        .multipart(Form::new().text("mapping", ""))
        .send()
        .await
        .unwrap();
    let body = problem(no_file, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "file");
    let missing = app.get("/api/v1/imports/99/rejects").await;
    problem(missing, StatusCode::NOT_FOUND).await;
    let imports: Value = app.get("/api/v1/imports").await.json().await.unwrap();
    assert_eq!(imports["imports"].as_array().unwrap().len(), 0);
}

async fn the_filtered_leads_export_as_safe_csv(app: &TestApp) {
    let evil =
        "email,first name,company\nana@acme.io,=HYPERLINK(\"http://x\"),Acme\nbo@beta.io,Bo,Beta\n";
    app.post_csv("", evil).await;
    let all = app.get("/api/v1/leads/export").await;
    assert_eq!(all.status(), StatusCode::OK);
    assert!(all.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("leads.csv"));
    let text = all.text().await.unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("'=HYPERLINK"), "{text}");
    let some = app
        .get("/api/v1/leads/export?q=beta")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(some.lines().count(), 2, "{some}");
    let bad = app.get("/api/v1/leads/export?stage=nowhere").await;
    problem(bad, StatusCode::BAD_REQUEST).await;
}
