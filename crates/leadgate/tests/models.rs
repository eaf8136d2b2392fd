//! The conversion model end to end: trained as a job through the API on a demo store of
//! either engine, versions and reports, leads sorted by priority, explanations beside the
//! rule score; and from the CLI on the real X Education file, with bad input refused.

#[macro_use]
mod common;

use chrono::Utc;
use common::TestApp;
use leadgate_core::conversion_model::ModelStatus;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::{Command, Output};
use std::time::Duration;

async fn wait_for_job(app: &TestApp, id: i64) -> Value {
    let mut job = Value::Null;
    for _ in 0..600 {
        job = app
            .get(&format!("/api/v1/jobs/{id}"))
            .await
            .json()
            .await
            .unwrap();
        if job["state"] == "done" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not finish: {job}");
}

on_both_engines!(
    trains_predicts_and_explains_over_the_api,
    a_retrained_model_must_beat_the_one_in_use_on_the_same_leads,
    drift_compares_what_the_model_predicted_with_what_happened
);

async fn drift_compares_what_the_model_predicted_with_what_happened(app: &TestApp) {
    let leads = leadgate_demo::generate(13, 2000, Utc::now());
    leadgate::cli::demo::load(&app.store, &leads, |_| {})
        .await
        .unwrap();
    let store = &app.store;
    let scope = leadgate_store::AnalyticsScope::default();
    assert!(
        store.model_drift(&scope).await.unwrap().is_empty(),
        "no predictions yet"
    );
    let models = leadgate_app::Models::new(store.clone());
    models
        .train(
            "default",
            &leadgate_ml::Settings::default(),
            "test",
            false,
            |_| {},
        )
        .await
        .unwrap();
    models
        .predict_open("default", Utc::now(), |_| {})
        .await
        .unwrap();
    // The 60 open leads the model thinks most likely all turn out to have no need: what it
    // predicted for them is far from what happened.
    let page = store
        .list_leads(&leadgate_store::LeadFilter {
            open: true,
            limit: 1000,
            ..leadgate_store::LeadFilter::default()
        })
        .await
        .unwrap();
    let mut predicted: Vec<(f64, leadgate_core::id::LeadId)> = page
        .leads
        .iter()
        .filter_map(|l| l.prediction.as_ref().map(|p| (p.probability, l.id)))
        .collect();
    predicted.sort_by(|a, b| b.0.total_cmp(&a.0));
    assert!(
        predicted.len() >= 60,
        "{} open leads predicted",
        predicted.len()
    );
    let expected: f64 = predicted[..60].iter().map(|(p, _)| p).sum::<f64>() / 60.0;
    for (_, id) in &predicted[..60] {
        leadgate_app::qualify::record_outcome(
            store,
            *id,
            leadgate_app::Outcome::Lost {
                reason: "no need".into(),
                to: leadgate_core::Stage::Disqualified,
            },
            "test",
        )
        .await
        .unwrap();
    }
    let rows = store.model_drift(&scope).await.unwrap();
    let leads: u64 = rows
        .iter()
        .filter(|r| r.channel.is_none())
        .map(|r| r.leads)
        .sum();
    assert_eq!(leads, 60, "{rows:?}");
    let won: u64 = rows
        .iter()
        .filter(|r| r.channel.is_none())
        .map(|r| r.won)
        .sum();
    assert_eq!(won, 0);
    let predicted_sum: f64 = rows
        .iter()
        .filter(|r| r.channel.is_none())
        .map(|r| r.predicted_rate * r.leads as f64)
        .sum();
    assert!((predicted_sum / 60.0 - expected).abs() < 1e-6);
    assert!(
        rows.iter().any(|r| r.apart),
        "60 likely leads all lost must be flagged: {rows:?}"
    );
}

async fn a_retrained_model_must_beat_the_one_in_use_on_the_same_leads(app: &TestApp) {
    let leads = leadgate_demo::generate(12, 2000, Utc::now());
    leadgate::cli::demo::load(&app.store, &leads, |_| {})
        .await
        .unwrap();
    let models = &leadgate_app::Models::new(app.store.clone());
    let train = |settings: leadgate_ml::Settings, force: bool| async move {
        models
            .train("default", &settings, "test", force, |_| {})
            .await
            .unwrap()
    };
    let first = train(leadgate_ml::Settings::default(), false).await;
    assert_eq!(first.status, ModelStatus::Active);
    assert!(first.evaluation.get("contest").is_none(), "no champion yet");
    // A stump (one shallow tree) against the model in use: kept beside it, not used.
    let stump = leadgate_ml::Settings {
        max_trees: 1,
        max_depth: 1,
        ..leadgate_ml::Settings::default()
    };
    let weak = train(stump.clone(), false).await;
    assert_eq!(weak.status, ModelStatus::Challenger);
    let contest = &weak.evaluation["contest"];
    assert_eq!(contest["champion"], first.id);
    assert_eq!(contest["result"]["challenger_wins"], false);
    assert!(
        contest["result"]["why"]
            .as_str()
            .unwrap()
            .starts_with("the new model is worse"),
        "{contest}"
    );
    let (active, _) = models.active("default").await.unwrap().unwrap();
    assert_eq!(active, first.id);
    // The stored versions say which is which; the API lists the challenger too.
    let listed: Value = app.get("/api/v1/models").await.json().await.unwrap();
    let statuses: Vec<&str> = listed["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["challenger", "active"]);
    // Forced, it takes over, and the record says it was forced.
    let forced = train(stump, true).await;
    assert_eq!(forced.status, ModelStatus::Active);
    assert_eq!(forced.evaluation["contest"]["forced"], true);
    let (active, _) = models.active("default").await.unwrap().unwrap();
    assert_eq!(active, forced.id);
}

async fn trains_predicts_and_explains_over_the_api(app: &TestApp) {
    let worker = leadgate::jobs::start(
        &app.store,
        chrono::Duration::seconds(60),
        leadgate::jobs::DeliverySettings::default(),
    );
    // No outcomes yet: the job ends without a model, and leads keep their rule scores.
    let r = app.post("/api/v1/models/train", &json!({})).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let job: Value = r.json().await.unwrap();
    wait_for_job(app, job["job_id"].as_i64().unwrap()).await;
    let models: Value = app.get("/api/v1/models").await.json().await.unwrap();
    assert_eq!(models["models"], json!([]));

    let leads = leadgate_demo::generate(11, 2000, Utc::now());
    leadgate::cli::demo::load(&app.store, &leads, |_| {})
        .await
        .unwrap();
    let r = app
        .post("/api/v1/models/train", &json!({"product": "default"}))
        .await;
    let job: Value = r.json().await.unwrap();
    wait_for_job(app, job["job_id"].as_i64().unwrap()).await;

    let models: Value = app.get("/api/v1/models").await.json().await.unwrap();
    let model = &models["models"][0];
    assert_eq!(model["status"], "active");
    // Measured on held-out leads of both outcomes (how well it learns is tested on the real
    // X Education data below).
    let auc = model["evaluation"]["roc_auc"]
        .as_f64()
        .unwrap_or_else(|| panic!("{models}"));
    assert!((0.0..=1.0).contains(&auc));
    assert!(model["evaluation"]["test_leads"].as_u64().unwrap() >= 30);
    let id = model["id"].as_i64().unwrap();
    let report = app.get(&format!("/api/v1/models/{id}/report")).await;
    assert_eq!(report.status(), StatusCode::OK);
    let html = report.text().await.unwrap();
    assert!(html.contains("<svg") && html.contains("Calibration"));

    // Open leads, most valuable work first.
    let page: Value = app
        .get("/api/v1/leads?sort=-priority&limit=50")
        .await
        .json()
        .await
        .unwrap();
    let priorities: Vec<f64> = page["leads"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["priority"].as_f64())
        .collect();
    assert!(priorities.len() >= 40, "{page}");
    assert!(priorities.windows(2).all(|w| w[0] >= w[1]));
    let top = leadgate_core::id::LeadId(page["leads"][0]["id"].as_i64().unwrap());
    let events_before = app.store.count_events().await.unwrap();
    let stored_before = app.store.lead(top).await.unwrap().prediction;
    assert!(stored_before.is_some());
    let p: Value = app
        .get(&format!("/api/v1/leads/{top}/prediction"))
        .await
        .json()
        .await
        .unwrap();
    // Reading a prediction writes nothing (on SQLite a write waits for the one writer).
    assert_eq!(app.store.lead(top).await.unwrap().prediction, stored_before);
    assert_eq!(app.store.count_events().await.unwrap(), events_before);
    let probability = p["model"]["probability"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&probability));
    assert!(!p["model"]["reasons"].as_array().unwrap().is_empty());
    assert!(p["model"]["reasons"][0]["text"].is_string());
    assert!(p["rules"]["score"]["total"].is_number() || p["rules"]["score"].is_object());

    // A new lead is predicted on arrival.
    let r = app
        .post(
            "/api/v1/leads",
            &json!({"email": "new.arrival@example.org", "job_title": "CTO"}),
        )
        .await;
    let lead: Value = r.json().await.unwrap();
    assert!(lead["probability"].is_number(), "{lead}");

    // A person's qualification in the dashboard leaves the lead predicted afresh, as the
    // API does (the dashboard's BANT save and move stored without predicting).
    app.store
        .create_user(leadgate_store::NewUser {
            name: "ana".into(),
            display_name: None,
            role: leadgate_core::access::Role::Admin,
            team: None,
            locale: "en".into(),
            time_zone: String::new(),
            password: "correct horse battery".into(),
        })
        .await
        .unwrap();
    let browser = common::session::sign_in(app, "ana", "correct horse battery").await;
    for (email, action, form) in [
        (
            "bant.saved@example.org",
            "bant",
            [("need", "on"), ("budget", "on")],
        ),
        (
            "moved.by.hand@example.org",
            "move",
            [("to", "mql"), ("reason", "asked for a call")],
        ),
    ] {
        let id = leadgate_store::testing::capture(&app.store, json!({"email": email})).await;
        assert!(app.store.lead(id).await.unwrap().prediction.is_none());
        let answer = browser.post(&format!("/leads/{id}/{action}"), &form).await;
        assert_eq!(answer, StatusCode::SEE_OTHER, "{action}");
        let lead = app.store.lead(id).await.unwrap();
        assert!(
            lead.prediction.is_some(),
            "{action} leaves the lead predicted"
        );
        if action == "move" {
            assert_eq!(lead.lead.stage, leadgate_core::Stage::Mql);
        }
    }

    // Retraining makes a second version; the first can be made active again.
    let r = app.post("/api/v1/models/train", &json!({})).await;
    let job: Value = r.json().await.unwrap();
    wait_for_job(app, job["job_id"].as_i64().unwrap()).await;
    let r = app
        .post(&format!("/api/v1/models/{id}/activate"), &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let models: Value = app.get("/api/v1/models").await.json().await.unwrap();
    let statuses: Vec<(i64, String)> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_i64().unwrap(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(statuses.len(), 2);
    assert!(
        statuses.contains(&(id, "active".to_owned())),
        "{statuses:?}"
    );

    // The same from the dashboard: the models with their standing and reports, the newer
    // one made active again, and training queued.
    let (status, page) = browser.page("/models").await;
    assert_eq!(status, StatusCode::OK);
    for (model, _) in &statuses {
        assert!(page.contains(&format!("data-model=\"{model}\"")), "{page}");
    }
    let (status, report) = browser.page(&format!("/models/{id}/report")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(report.contains("<svg"), "the report has its charts");
    let newer = statuses.iter().map(|(m, _)| *m).find(|m| *m != id).unwrap();
    assert!(
        page.contains(&format!("action=\"/models/{newer}/activate\"")),
        "the model not in use can be made active"
    );
    let (status, back) = browser
        .post_to(&format!("/models/{newer}/activate"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(back.contains("done=model_active"), "{back}");
    assert_eq!(
        app.store.model(newer).await.unwrap().status,
        ModelStatus::Active
    );
    let trainings = || async {
        let jobs: Value = app
            .get("/api/v1/jobs?kind=train_model")
            .await
            .json()
            .await
            .unwrap();
        jobs["jobs"].as_array().unwrap().len()
    };
    let before = trainings().await;
    let (_, back) = browser.post_to("/models/train", &[]).await;
    assert!(back.contains("done=training"), "{back}");
    assert_eq!(trainings().await, before + 1, "a training job is queued");
    let (status, _) = browser.page("/models/999999/report").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Bad input.
    let r = app
        .post("/api/v1/models/train", &json!({"product": 5}))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("product"));
    // Control bytes in the product's name never reach SQL or a job (a NUL in the query
    // was a 500 on PostgreSQL).
    let r = app
        .post("/api/v1/models/train", &json!({"product": "p\u{1}"}))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("product") && text.contains("control"),
        "{text}"
    );
    let r = app.get("/api/v1/models?product=p%01").await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(r.text().await.unwrap().contains("product"));
    // Not an object, or a field these requests do not have: refused (were queued).
    for (path, body) in [
        ("/api/v1/models/train", json!([null, null])),
        ("/api/v1/models/predict", json!("default")),
        ("/api/v1/models/train", json!({"prodcut": "default"})),
    ] {
        let r = app.post(path, &body).await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {body}"
        );
    }
    assert_eq!(
        app.get("/api/v1/models/999").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/v1/models/x").await.status(),
        StatusCode::NOT_FOUND
    );
    drop(worker);
}

fn leadgate(args: &[&str], db: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(args)
        .args(["--database-url", db])
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn real_data_from_the_cli_with_leaks_left_out_and_bad_input_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let db = db.to_str().unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let csv = format!("{root}/examples/xeducation_leads.csv");
    let mapping = format!("{root}/examples/xeducation.mapping.toml");

    // Nothing to learn from yet.
    let out = leadgate(&["train"], db);
    assert!(!out.status.success());
    assert!(text(&out).contains("no closed leads"), "{}", text(&out));

    let out = leadgate(&["import", &csv, "--mapping", &mapping], db);
    assert!(out.status.success(), "{}", text(&out));
    let report = dir.path().join("report.html");
    let out = leadgate(
        &[
            "evaluate",
            "--format",
            "json",
            "--report",
            report.to_str().unwrap(),
        ],
        db,
    );
    assert!(out.status.success(), "{}", text(&out));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    let auc = e["roc_auc"].as_f64().unwrap();
    // LightGBM reaches 0.863 on a split like this one without the leaky columns; with them
    // a model scores ~0.98, so a figure that high would mean they leaked in.
    assert!(auc > 0.85 && auc < 0.95, "ROC-AUC {auc}");
    assert_eq!(
        e["split"], "stratified",
        "an import without dates has no meaningful times"
    );
    assert!(e["model"]["brier"].as_f64().unwrap() < 0.15);
    let features: Vec<&str> = e["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for leaky in ["custom.tags", "custom.lead_quality", "custom.last_activity"] {
        assert!(
            !features.contains(&leaky),
            "{leaky} leaked into {features:?}"
        );
    }
    let dropped = e["dropped"].to_string();
    assert!(dropped.contains("custom.lead_number") && dropped.contains("identifier"));
    assert!(std::fs::read_to_string(&report).unwrap().contains("<svg"));

    let out = leadgate(&["train"], db);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("is now active"));

    // A model file from another format version is refused and the model in use stays.
    let file = dir.path().join("model.json");
    let out = leadgate(&["model", "export", "1", file.to_str().unwrap()], db);
    assert!(out.status.success(), "{}", text(&out));
    let mut saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    saved["format_version"] = json!(0);
    std::fs::write(&file, saved.to_string()).unwrap();
    let out = leadgate(&["model", "import", file.to_str().unwrap()], db);
    assert!(!out.status.success());
    assert!(text(&out).contains("format version 0"), "{}", text(&out));
    let out = leadgate(&["model", "list"], db);
    let listed = text(&out);
    assert!(
        listed.contains("active") && listed.lines().count() == 1,
        "{listed}"
    );
}
