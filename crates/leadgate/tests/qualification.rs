//! Scoring, lifecycle moves, BANT and policy versions over real HTTP, on both engines.

#[macro_use]
mod common;

use chrono::{Duration, Utc};
use common::{fields, problem, TestApp};
use leadgate_core::policy::Policy;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

on_both_engines!(
    scores_explain_themselves_and_moves_follow_the_lifecycle,
    bant_gates_sql_unless_overridden,
    bad_moves_and_bad_input_are_refused,
    policies_are_versioned_and_applying_one_rescores,
    leads_list_by_score_grade_and_temperature,
    backtests_compare_a_candidate_with_the_policy_in_force,
    each_product_line_is_scored_under_its_own_policy,
    events_arriving_move_a_lead_to_mql_in_the_background,
    applying_a_policy_returns_at_once_and_the_server_rescores_its_leads,
    junk_is_flagged_kept_out_of_mql_and_reviewed_by_a_person,
);

async fn put(app: &TestApp, path: &str, body: &Value) -> Response {
    app.client
        .put(app.url(path))
        .bearer_auth(&app.key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn lead(app: &TestApp, body: Value) -> i64 {
    let response = app.post("/api/v1/leads", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn move_to(app: &TestApp, id: i64, body: Value) -> Response {
    app.post(&format!("/api/v1/leads/{id}/transitions"), &body)
        .await
}

fn good_lead() -> Value {
    json!({"email": "li.wei@cloudline.cn", "first_name": "伟", "last_name": "李", "job_title": "CTO",
           "industry": "Software", "company_size": 240, "product_need": "lead routing", "budget": 25000,
           "purchase_timeframe": "within 3 months"})
}

async fn engage(app: &TestApp, id: i64) {
    let recent = |hours: i64| (Utc::now() - Duration::hours(hours)).to_rfc3339();
    let batch = json!({"events": [
        {"lead_id": id, "type": "webinar_attended", "occurred_at": recent(48), "payload": {"webinar": "BANT in practice"}},
        {"lead_id": id, "type": "page_viewed", "occurred_at": recent(3), "payload": {"page": "/pricing"}},
        {"lead_id": id, "type": "meeting_booked", "occurred_at": recent(1)},
    ]});
    let result: Value = app
        .post("/api/v1/events", &batch)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(result["accepted"], 3);
}

async fn scores_explain_themselves_and_moves_follow_the_lifecycle(app: &TestApp) {
    let id = lead(app, good_lead()).await;
    let cold: Value = app
        .get(&format!("/api/v1/leads/{id}/score"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        cold["policy_version"], 0,
        "the starter policy is in force until one is applied"
    );
    assert_eq!(cold["fit_points"], 60.0);
    assert_eq!(cold["fit_grade"], "A");
    assert_eq!(cold["mql"], false);
    let rules: Vec<&str> = cold["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"Decision maker") && rules.contains(&"Core industry"),
        "{rules:?}"
    );

    engage(app, id).await;
    let warm: Value = app
        .get(&format!("/api/v1/leads/{id}/score"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(warm["mql"], true);
    assert_eq!(warm["temperature"], "hot");
    let webinar = warm["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == "Attended a webinar")
        .unwrap();
    assert!(
        webinar["detail"]
            .as_str()
            .unwrap()
            .starts_with("+15 webinar attended"),
        "{webinar}"
    );
    assert!(
        webinar["points"].as_f64().unwrap() < 15.0,
        "two days of decay"
    );
    assert_eq!(warm["bant"]["sql_ready"], true);

    let skipped = problem(
        move_to(app, id, json!({"to": "sql"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        skipped["detail"]
            .as_str()
            .unwrap()
            .contains("cannot move from lead to sql"),
        "{skipped}"
    );

    for stage in ["mql", "sal", "sql", "opportunity"] {
        let moved = move_to(app, id, json!({"to": stage})).await;
        assert_eq!(moved.status(), StatusCode::OK, "to {stage}");
        let body: Value = moved.json().await.unwrap();
        assert_eq!(body["stage"], stage);
    }
    let body: Value = app
        .get(&format!("/api/v1/leads/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["grade"], "A1");
    assert_eq!(body["temperature"], "hot");

    let timeline: Value = app
        .get(&format!("/api/v1/leads/{id}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let moves: Vec<&Value> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "stage_changed")
        .collect();
    assert_eq!(moves.len(), 4);
    let to_mql = moves.iter().find(|e| e["payload"]["to"] == "mql").unwrap();
    assert_eq!(to_mql["payload"]["from"], "lead");
    assert_eq!(to_mql["payload"]["policy_version"], 0);
    assert!(to_mql["payload"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("MQL rule holds"));
    assert_eq!(to_mql["actor"], "apikey:tests");

    let lost = move_to(
        app,
        id,
        json!({"to": "disqualified", "reason": "lost to competitor"}),
    )
    .await;
    assert_eq!(lost.status(), StatusCode::OK);
    let final_move = problem(
        move_to(app, id, json!({"to": "customer"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(final_move["detail"]
        .as_str()
        .unwrap()
        .contains("disqualified is final"));
}

async fn bant_gates_sql_unless_overridden(app: &TestApp) {
    let id = lead(app, json!({"email": "ops@steelbridge.de", "job_title": "Operations Manager", "industry": "Manufacturing"})).await;
    let refused = problem(
        move_to(app, id, json!({"to": "mql"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("needs a reason"),
        "{refused}"
    );
    assert_eq!(
        move_to(
            app,
            id,
            json!({"to": "mql", "reason": "asked for a demo at the booth"})
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        move_to(app, id, json!({"to": "sal"})).await.status(),
        StatusCode::OK
    );
    let no_bant = problem(
        move_to(app, id, json!({"to": "sql"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        no_bant["detail"]
            .as_str()
            .unwrap()
            .contains("missing: budget, authority, need, timeline"),
        "{no_bant}"
    );

    let confirmed = put(
        app,
        &format!("/api/v1/leads/{id}/bant"),
        &json!({"need": true, "timeline": true}),
    )
    .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let body: Value = confirmed.json().await.unwrap();
    assert_eq!(body["bant_confirmed"], json!(["need", "timeline"]));
    let still = problem(
        move_to(app, id, json!({"to": "sql"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        still["detail"]
            .as_str()
            .unwrap()
            .contains("missing: budget, authority"),
        "three parts are needed: {still}"
    );

    let without_reason = problem(
        move_to(app, id, json!({"to": "sql", "override_bant": true})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(without_reason["detail"]
        .as_str()
        .unwrap()
        .contains("needs a reason"));
    let overridden = move_to(
        app,
        id,
        json!({"to": "sql", "override_bant": true, "reason": "plant manager holds the budget"}),
    )
    .await;
    assert_eq!(overridden.status(), StatusCode::OK);
    let timeline: Value = app
        .get(&format!("/api/v1/leads/{id}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let events = timeline["events"].as_array().unwrap();
    let sql = events.iter().find(|e| e["payload"]["to"] == "sql").unwrap();
    assert_eq!(sql["payload"]["override_bant"], true);
    assert_eq!(sql["payload"]["reason"], "plant manager holds the budget");
    // One save of two parts is one event.
    let bant_events: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "field_changed" && e["payload"]["field"] == "bant")
        .collect();
    assert_eq!(bant_events.len(), 1);
    assert_eq!(bant_events[0]["payload"]["old"], json!([]));
    assert_eq!(
        bant_events[0]["payload"]["new"],
        json!(["need", "timeline"])
    );

    let bad = problem(
        put(
            app,
            &format!("/api/v1/leads/{id}/bant"),
            &json!({"budget": "yes", "money": true}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&bad), ["budget", "money"]);
}

async fn bad_moves_and_bad_input_are_refused(app: &TestApp) {
    let id = lead(app, good_lead()).await;
    let body = problem(
        move_to(app, id, json!({"to": "won", "reason": 3, "extra": 1})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&body), ["extra", "reason", "to"]);
    let body = problem(
        move_to(app, id, json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&body), ["to"]);
    problem(
        move_to(app, 99_999, json!({"to": "mql"})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.get("/api/v1/leads/99999/score").await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let no_reason = problem(
        move_to(app, id, json!({"to": "recycled"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(no_reason["detail"]
        .as_str()
        .unwrap()
        .contains("recycling needs a reason, one of"));
    let wrong = problem(
        move_to(
            app,
            id,
            json!({"to": "disqualified", "reason": "bad vibes"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(wrong["detail"]
        .as_str()
        .unwrap()
        .contains("'bad vibes' is not a reason the policy allows"));
    let timeline: Value = app
        .get(&format!("/api/v1/leads/{id}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        timeline["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["type"] != "stage_changed"),
        "refused moves record nothing"
    );
}

async fn policies_are_versioned_and_applying_one_rescores(app: &TestApp) {
    let engaged = lead(app, good_lead()).await;
    engage(app, engaged).await;
    let plain = lead(
        app,
        json!({"email": "someone@gmail.com", "job_title": "Analyst"}),
    )
    .await;

    let broken = Policy::STARTER.replace("event = \"webinar_attended\"", "event = \"webinar\"");
    let refused = problem(
        app.post(
            "/api/v1/policies",
            &json!({"document": broken, "message": "typo"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let field = refused["errors"][0]["field"].as_str().unwrap();
    let line = Policy::STARTER
        .lines()
        .position(|l| l.contains("event = \"webinar_attended\""))
        .unwrap()
        + 1;
    assert_eq!(field, format!("document:{line}"));
    assert!(refused["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("unknown event type 'webinar'"));
    let listed: Value = app.get("/api/v1/policies").await.json().await.unwrap();
    assert_eq!(
        listed["policies"].as_array().unwrap().len(),
        0,
        "a refused policy leaves nothing behind"
    );
    let missing = problem(
        app.post("/api/v1/policies", &json!({"document": Policy::STARTER}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&missing), ["message"]);

    let applied = app
        .apply_policy(Policy::STARTER, "agreed at the Q3 SLA review")
        .await;
    assert_eq!(applied["policy"]["version"], 1);
    assert_eq!(applied["policy"]["author"], "apikey:tests");
    assert_eq!(applied["rescore"]["policy_version"], 1);
    assert_eq!(applied["rescore"]["total"], 2);
    assert_eq!(applied["rescore"]["done"], 2);
    assert_eq!(applied["rescore"]["became_mql"], 1);
    assert!(applied["rescore"]["finished_at"].is_string(), "{applied}");
    let engaged_now: Value = app
        .get(&format!("/api/v1/leads/{engaged}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(engaged_now["stage"], "mql");
    assert_eq!(engaged_now["grade"], "A1");
    let plain_now: Value = app
        .get(&format!("/api/v1/leads/{plain}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plain_now["stage"], "lead");
    assert!(plain_now["score"].as_f64().unwrap() < 0.0);
    // A person marks the plain lead an MQL by hand, with their reason: no rescore under any
    // policy takes it back (the policy takes back only the MQLs it made).
    let marked = app
        .post(
            &format!("/api/v1/leads/{plain}/transitions"),
            &json!({"to": "mql", "reason": "met them at the trade fair"}),
        )
        .await;
    assert_eq!(marked.status(), StatusCode::OK);

    let stricter = Policy::STARTER.replace("min_score = 70", "min_score = 150");
    let applied = app.apply_policy(&stricter, "sales is drowning").await;
    assert_eq!(applied["policy"]["version"], 2);
    assert_eq!(applied["rescore"]["left_mql"], 1, "{applied}");
    let plain_now: Value = app
        .get(&format!("/api/v1/leads/{plain}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plain_now["stage"], "mql", "a person's MQL stays one");
    let back: Value = app
        .get(&format!("/api/v1/leads/{engaged}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back["stage"], "lead");
    let timeline: Value = app
        .get(&format!("/api/v1/leads/{engaged}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let moved_back = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["payload"]["to"] == "lead")
        .unwrap();
    assert_eq!(moved_back["actor"], "policy:v2");
    assert!(moved_back["payload"]["reason"]
        .as_str()
        .unwrap()
        .contains("no longer holds under policy version 2"));

    let listed: Value = app.get("/api/v1/policies").await.json().await.unwrap();
    let versions: Vec<i64> = listed["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [2, 1]);
    let first: Value = app
        .get("/api/v1/policies/default/1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["message"], "agreed at the Q3 SLA review");
    assert_eq!(first["document"], Policy::STARTER);
    problem(
        app.get("/api/v1/policies/default/9").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn leads_list_by_score_grade_and_temperature(app: &TestApp) {
    let demo = leadgate_demo::generate(21, 90, Utc::now());
    leadgate::cli::demo::load(&app.store, &demo, |_| {})
        .await
        .unwrap();
    let applied = app.apply_policy(Policy::STARTER, "start").await;
    assert_eq!(applied["rescore"]["done"], 90);

    let mut scores = Vec::new();
    let mut url = "/api/v1/leads?sort=-score&limit=16".to_owned();
    loop {
        let page: Value = app.get(&url).await.json().await.unwrap();
        scores.extend(
            page["leads"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["score"].as_f64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("/api/v1/leads?sort=-score&limit=16&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(scores.len(), 90);
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    let hot: Value = app
        .get("/api/v1/leads?temperature=hot&limit=1000")
        .await
        .json()
        .await
        .unwrap();
    assert!(hot["leads"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["temperature"] == "hot"));
    let fit_a: Value = app
        .get("/api/v1/leads?grade=A&limit=1000")
        .await
        .json()
        .await
        .unwrap();
    assert!(fit_a["leads"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["grade"].as_str().unwrap().starts_with('A')));
    let high: Value = app
        .get("/api/v1/leads?min_score=40&limit=1000")
        .await
        .json()
        .await
        .unwrap();
    let expected = scores.iter().filter(|s| **s >= 40.0 - 0.05).count();
    assert!((high["leads"].as_array().unwrap().len() as i64 - expected as i64).abs() <= 1);
    let bad = problem(
        app.get("/api/v1/leads?grade=E9&temperature=lukewarm&min_score=lots")
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(fields(&bad), ["grade", "min_score", "temperature"]);
}

async fn backtests_compare_a_candidate_with_the_policy_in_force(app: &TestApp) {
    let demo = leadgate_demo::generate(33, 400, Utc::now());
    leadgate::cli::demo::load(&app.store, &demo, |_| {})
        .await
        .unwrap();
    let same: Value = app
        .post(
            "/api/v1/policies/backtest",
            &json!({"document": Policy::STARTER}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(same["leads"], 400);
    assert_eq!(same["current"], same["candidate"]);
    assert_eq!(
        (same["became_mql"].as_u64(), same["stopped_mql"].as_u64()),
        (Some(0), Some(0))
    );
    let won = demo
        .iter()
        .filter(|d| d.lead.stage == leadgate_core::Stage::Customer)
        .count();
    assert_eq!(same["won"], won);

    let stricter = Policy::STARTER.replace("min_score = 70", "min_score = 90");
    let report: Value = app
        .post(
            "/api/v1/policies/backtest",
            &json!({"document": stricter, "capacity_per_week": 3}),
        )
        .await
        .json()
        .await
        .unwrap();
    let (now, new) = (
        report["current"]["mqls"].as_u64().unwrap(),
        report["candidate"]["mqls"].as_u64().unwrap(),
    );
    assert!(new <= now);
    assert_eq!(report["stopped_mql"].as_u64().unwrap(), now - new);
    assert!(report["by_channel"].as_array().unwrap().len() >= 10);
    assert!(report["best_f1"]["min_score"].is_number());
    assert!(report["for_capacity"]["mqls_per_week"].as_f64().unwrap() <= 3.0);
    let listed: Value = app.get("/api/v1/policies").await.json().await.unwrap();
    assert!(
        listed["policies"].as_array().unwrap().is_empty(),
        "a backtest applies nothing"
    );

    let bad = problem(
        app.post(
            "/api/v1/policies/backtest",
            &json!({"document": "[policy]", "capacity_per_week": -1}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&bad), ["capacity_per_week"]);
    let bad = problem(
        app.post(
            "/api/v1/policies/backtest",
            &json!({"document": "[policy]"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(fields(&bad)[0].starts_with("document:"), "{bad}");
}

async fn each_product_line_is_scored_under_its_own_policy(app: &TestApp) {
    let enterprise = Policy::STARTER
        .replace("product = \"default\"", "product = \"Enterprise\"")
        .replace("name = \"B2B default\"", "name = \"Enterprise\"")
        .replace("min_score = 70", "min_score = 40");
    let applied = app.apply_policy(&enterprise, "enterprise line").await;
    assert_eq!(applied["policy"]["product"], "enterprise");
    assert_eq!(applied["policy"]["version"], 1);

    let mut big = good_lead();
    big["email"] = json!("cfo@bigbank.com");
    big["custom"] = json!({"product": "Enterprise"});
    let big = lead(app, big).await;
    let small = lead(app, good_lead()).await;
    let big_score: Value = app
        .get(&format!("/api/v1/leads/{big}/score"))
        .await
        .json()
        .await
        .unwrap();
    let small_score: Value = app
        .get(&format!("/api/v1/leads/{small}/score"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            big_score["product"].as_str(),
            big_score["policy_version"].as_i64()
        ),
        (Some("enterprise"), Some(1))
    );
    assert_eq!(
        (
            small_score["product"].as_str(),
            small_score["policy_version"].as_i64()
        ),
        (Some("default"), Some(0))
    );
    assert_eq!(
        big_score["mql"], true,
        "60 fit points pass the enterprise line's 40"
    );
    assert_eq!(small_score["mql"], false, "but not the default line's 70");
    // Scored on arrival: the enterprise lead arrived inside its policy's MQL rule.
    let big_lead: Value = app
        .get(&format!("/api/v1/leads/{big}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(big_lead["stage"], "mql");
    let small_lead: Value = app
        .get(&format!("/api/v1/leads/{small}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(small_lead["stage"], "lead");
    let timeline: Value = app
        .get(&format!("/api/v1/leads/{big}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let moved = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "stage_changed")
        .unwrap();
    assert_eq!(moved["actor"], "policy:v1");
    let stricter = enterprise.replace("min_score = 40", "min_score = 65");
    let rescored = app.apply_policy(&stricter, "stricter").await;
    assert_eq!(
        rescored["rescore"]["done"], 1,
        "applying rescores only its own product's leads"
    );
    assert_eq!(rescored["rescore"]["left_mql"], 1);
}

async fn events_arriving_move_a_lead_to_mql_in_the_background(app: &TestApp) {
    let worker = tokio::spawn(leadgate::jobs::rescore_due_leads(app.store.clone()));
    let id = lead(app, good_lead()).await;
    let before: Value = app
        .get(&format!("/api/v1/leads/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["stage"], "lead");
    engage(app, id).await;
    let now = app
        .get_json_until(&format!("/api/v1/leads/{id}"), |lead| {
            lead["stage"] == "mql"
        })
        .await;
    worker.abort();
    assert_eq!(
        now["stage"], "mql",
        "the background pass moves it within seconds"
    );
    let timeline: Value = app
        .get(&format!("/api/v1/leads/{id}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let moved = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "stage_changed")
        .unwrap();
    assert_eq!(moved["actor"], "policy:v0");
}

async fn applying_a_policy_returns_at_once_and_the_server_rescores_its_leads(app: &TestApp) {
    // More leads than one page of the pass, so it advances more than once.
    let mut csv = String::from("email,company,job_title,country\n");
    for i in 0..1_234 {
        csv.push_str(&format!(
            "buyer{i}@acme-{}.com,Acme {},CTO,Germany\n",
            i % 40,
            i % 40
        ));
    }
    assert_eq!(app.post_csv("", &csv).await.status(), StatusCode::CREATED);
    // An MQL under the starter policy, its new events scored as the background loop would.
    let engaged = lead(app, good_lead()).await;
    engage(app, engaged).await;
    leadgate_app::rescore::rescore_due(&app.store, 10_000, Utc::now())
        .await
        .unwrap();
    let stricter = Policy::STARTER.replace("min_score = 70", "min_score = 150");
    let response = app
        .post(
            "/api/v1/policies",
            &json!({"document": stricter, "message": "sales is drowning"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let applied: Value = response.json().await.unwrap();
    assert_eq!(applied["rescore"]["total"], 1_235, "{applied}");
    assert_eq!(applied["rescore"]["done"], 0, "nobody has rescored yet");
    assert!(applied["rescore"]["finished_at"].is_null());
    let waiting: Value = app
        .get("/api/v1/policies/default/rescore")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        waiting["done"], 0,
        "the test server runs no background loop"
    );

    let worker = tokio::spawn(leadgate::jobs::rescore_due_leads(app.store.clone()));
    let finished = app
        .get_json_until("/api/v1/policies/default/rescore", |run| {
            run["finished_at"].is_string()
        })
        .await;
    worker.abort();
    assert_eq!(finished["done"], 1_235, "{finished}");
    assert_eq!(finished["left_mql"], 1, "{finished}");
    assert_eq!(finished["policy_version"], 1);
    let now: Value = app
        .get(&format!("/api/v1/leads/{engaged}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["stage"], "lead", "{now}");

    let unknown = app.get("/api/v1/policies/nothing-here/rescore").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    // A NUL in the name is refused before it reaches SQL (PostgreSQL cannot take it).
    let nul = app.get("/api/v1/policies/a%00b/rescore").await;
    assert_eq!(nul.status(), StatusCode::BAD_REQUEST);
}

async fn junk_is_flagged_kept_out_of_mql_and_reviewed_by_a_person(app: &TestApp) {
    // A qualifying lead from a throw-away address: flagged, scored, but never an MQL.
    let mut body = good_lead();
    body["email"] = json!("li.wei@mailinator.com");
    let id = lead(app, body).await;
    engage(app, id).await;
    let junk: Value = app
        .get(&format!("/api/v1/leads/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(junk["junk"], json!(["disposable_email"]));
    assert_eq!(
        junk["completeness"]["percent"], 75,
        "{}",
        junk["completeness"]
    );
    assert_eq!(junk["completeness"]["missing"], json!(["company", "phone"]));
    let score: Value = app
        .get(&format!("/api/v1/leads/{id}/score"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        score["mql"], false,
        "the score passes, the junk flag blocks"
    );
    assert_eq!(score["blocked_by"], json!(["disposable_email"]));
    let moved = move_to(
        app,
        id,
        json!({"to": "mql", "reason": "spoke to them, a real buyer"}),
    )
    .await;
    assert_eq!(moved.status(), StatusCode::OK, "a person may still move it");
    let back = put(
        app,
        &format!("/api/v1/leads/{id}/bant"),
        &json!({"need": true}),
    )
    .await;
    let back: Value = back.json().await.unwrap();
    assert_eq!(back["stage"], "lead", "rescoring takes junk out of MQL");

    let real = lead(app, json!({"email": "ana@acme.io", "first_name": "Ana"})).await;
    let only_junk: Value = app
        .get("/api/v1/leads?junk=true")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<i64> = only_junk["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [id]);
    let only_real: Value = app
        .get("/api/v1/leads?junk=false")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(only_real["leads"][0]["id"], real);

    // A person clears it: the verdict stands, and the lead qualifies.
    let cleared = put(
        app,
        &format!("/api/v1/leads/{id}/junk"),
        &json!({"junk": false, "reason": "a real buyer testing us with a spare inbox"}),
    )
    .await;
    assert_eq!(cleared.status(), StatusCode::OK);
    let cleared: Value = cleared.json().await.unwrap();
    assert_eq!(cleared["junk"], json!([]));
    assert_eq!(cleared["junk_reviewed"], true);
    assert_eq!(cleared["stage"], "mql");
    let edited = app
        .patch(&format!("/api/v1/leads/{id}"), &json!({"job_title": "CEO"}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        edited["junk"],
        json!([]),
        "automatic checks leave a verdict alone"
    );

    let flagged: Value = put(
        app,
        &format!("/api/v1/leads/{id}/junk"),
        &json!({"junk": true, "reason": "competitor research"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(flagged["junk"], json!(["manual"]));
    assert_eq!(flagged["stage"], "lead");
    let timeline: Value = app
        .get(&format!("/api/v1/leads/{id}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let verdicts: Vec<&Value> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["payload"]["field"] == "junk")
        .collect();
    assert_eq!(verdicts[0]["payload"]["reason"], "competitor research");
    assert_eq!(verdicts[0]["actor"], "apikey:tests");
    let left = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "stage_changed" && e["payload"]["to"] == "lead")
        .unwrap();
    assert!(
        left["payload"]["reason"].as_str().unwrap().contains("junk"),
        "{left}"
    );

    let bad = put(
        app,
        &format!("/api/v1/leads/{id}/junk"),
        &json!({"junk": "no", "why": 1}),
    )
    .await;
    let bad = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&bad), ["junk", "reason", "why"]);

    // The policy may let a flag qualify, at a cost in points: a role account (sales@) of a
    // fitting, engaged company becomes an MQL once it does.
    let mut body = good_lead();
    body["email"] = json!("sales@cloudline.cn");
    let role = lead(app, body).await;
    engage(app, role).await;
    let before: Value = app
        .get(&format!("/api/v1/leads/{role}/score"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["blocked_by"], json!(["role_account"]));
    let lenient = format!(
        "{}\n[[junk]]\nreason = \"role_account\"\npoints = -5\nblocks_mql = false\n",
        Policy::STARTER
    );
    app.apply_policy(&lenient, "team inboxes buy too").await;
    let after: Value = app
        .get(&format!("/api/v1/leads/{role}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["stage"], "mql", "{after}");
    assert_eq!(after["junk"], json!(["role_account"]), "still flagged");
    let score: Value = app
        .get(&format!("/api/v1/leads/{role}/score"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        score["score"].as_f64().unwrap(),
        before["score"].as_f64().unwrap() - 5.0
    );
}
