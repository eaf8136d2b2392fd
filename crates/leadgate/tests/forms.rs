//! Web-to-lead forms over real HTTP, on SQLite and on PostgreSQL.

#[macro_use]
mod common;

use common::{fields, problem, TestApp};
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

on_both_engines!(
    a_form_is_defined_embedded_and_submitted_from_a_browser,
    bots_and_bad_submissions_are_handled,
    a_known_lead_is_filled_never_overwritten_and_a_bot_marks_only_its_submission,
    one_address_is_rate_limited,
);

async fn define(app: &TestApp) {
    let definition = json!({
        "title": "Request a demo",
        "fields": [
            {"name": "email", "label": "Work email", "required": true},
            {"name": "first_name", "label": "First name"},
            {"name": "company", "label": "Company <Inc>"},
            {"name": "company_size", "label": "Employees"},
            {"name": "custom.interest", "label": "What interests you?"}
        ],
        "consent_text": "I agree that Leadgate may contact me about my request.",
        "redirect_url": "https://example.com/thanks",
        "source": {"campaign": "spring-demo", "utm_medium": "site"}
    });
    let created = app
        .client
        .put(app.url("/api/v1/forms/demo"))
        .bearer_auth(&app.key)
        .json(&definition)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let replaced = app
        .client
        .put(app.url("/api/v1/forms/demo"))
        .bearer_auth(&app.key)
        .json(&definition)
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), StatusCode::OK);
}

fn browser() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

async fn lead_by_email(app: &TestApp, email: &str) -> Value {
    let list: Value = app
        .get(&format!("/api/v1/leads?q={email}"))
        .await
        .json()
        .await
        .unwrap();
    list["leads"][0].clone()
}

async fn a_form_is_defined_embedded_and_submitted_from_a_browser(app: &TestApp) {
    define(app).await;
    let listed: Value = app.get("/api/v1/forms").await.json().await.unwrap();
    assert_eq!(listed["forms"][0]["key"], "demo");
    assert_eq!(listed["forms"][0]["submit_path"], "/f/demo");

    let embed = app
        .client
        .get(app.url("/f/demo/embed"))
        .send()
        .await
        .unwrap();
    assert_eq!(embed.status(), StatusCode::OK);
    let html = embed.text().await.unwrap();
    let host = app.base.trim_start_matches("http://");
    assert!(
        html.contains(&format!("action=\"http://{host}/f/demo\"")),
        "{html}"
    );
    assert!(html.contains("Company &lt;Inc&gt;"));
    assert!(html.contains("name=\"_hp\"") && html.contains("name=\"consent\""));

    let shown = chrono::Utc::now().timestamp_millis() - 30_000;
    let sent = browser()
        .post(app.url("/f/demo?ignored=1"))
        .header("referer", "https://example.com/pricing")
        .form(&[
            ("email", "minh@saigonexpress.vn"),
            ("first_name", "<script>alert('x')</script>"),
            ("company", "Saigon Express JSC"),
            ("company_size", "320"),
            ("custom.interest", "routing"),
            ("consent", "on"),
            ("utm_source", "newsletter"),
            ("landing_page", "https://example.com/demo"),
            ("_hp", ""),
            ("_ts", &shown.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert_eq!(sent.headers()["location"], "https://example.com/thanks");

    let lead = lead_by_email(app, "minh@saigonexpress.vn").await;
    assert_eq!(
        lead["first_name"], "<script>alert('x')</script>",
        "kept as text"
    );
    assert_eq!(lead["company_size"], 320);
    assert_eq!(lead["custom"]["interest"], "routing");
    assert_eq!(lead["channel"], "web_form");
    assert_eq!(lead["campaign"], "spring-demo");
    assert_eq!(lead["junk"], json!([]));
    let touch = &lead["first_touch"];
    assert_eq!(touch["utm_source"], "newsletter");
    assert_eq!(touch["utm_medium"], "site");
    assert_eq!(touch["referrer"], "https://example.com/pricing");
    assert_eq!(touch["landing_page"], "https://example.com/demo");
    let timeline: Value = app
        .get(&format!("/api/v1/leads/{}/timeline", lead["id"]))
        .await
        .json()
        .await
        .unwrap();
    let submitted = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "form_submitted")
        .unwrap();
    let consent = &submitted["payload"]["input"]["consent"];
    assert_eq!(consent["given"], true);
    assert!(consent["text"].as_str().unwrap().starts_with("I agree"));
    assert_eq!(consent["ip"], "127.0.0.1");
    assert_eq!(submitted["actor"], "form:demo");

    // JSON from a site's own script: answered with JSON.
    let json_post = app
        .client
        .post(app.url("/f/demo"))
        .json(&json!({"email": "ana@acme.io", "consent": true, "_ts": shown}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_post.status(), StatusCode::CREATED);
    assert_eq!(
        json_post.json::<Value>().await.unwrap(),
        json!({"ok": true})
    );
}

async fn bots_and_bad_submissions_are_handled(app: &TestApp) {
    define(app).await;
    let post = |body: Value| async move {
        app.client
            .post(app.url("/f/demo"))
            .json(&body)
            .send()
            .await
            .unwrap()
    };
    // A bot fills the honeypot: answered like anyone, stored as junk.
    let bot = post(json!({"email": "bot@spam.io", "consent": "on", "_hp": "http://spam"})).await;
    assert_eq!(bot.status(), StatusCode::CREATED);
    let shown = chrono::Utc::now().timestamp_millis();
    post(json!({"email": "fast@spam.io", "consent": "on", "_ts": shown})).await;
    assert_eq!(
        lead_by_email(app, "bot@spam.io").await["junk"],
        json!(["bot_submission"])
    );
    assert_eq!(
        lead_by_email(app, "fast@spam.io").await["junk"],
        json!(["bot_submission"])
    );

    let missing = problem(
        post(json!({"first_name": "Ana"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&missing), ["consent", "email"]);
    let invalid = problem(
        post(json!({"email": "not-an-email", "consent": "on", "company_size": "lots"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&invalid), ["company_size", "email"]);

    // A browser gets a page, with what it sent escaped.
    let page = browser()
        .post(app.url("/f/demo"))
        .header("accept", "text/html")
        .form(&[("email", "<b>x</b>"), ("consent", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("email:") && !html.contains("<b>x</b>"),
        "{html}"
    );

    let big = app
        .client
        .post(app.url("/f/demo"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "email=a%40b.io&consent=on&custom.interest={}",
            "x".repeat(70_000)
        ))
        .send()
        .await;
    if let Ok(big) = big {
        assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    let text = app
        .client
        .post(app.url("/f/demo"))
        .header("content-type", "text/plain")
        .body("email=a@b.io")
        .send()
        .await
        .unwrap();
    problem(text, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    problem(
        post(json!({"email": "a@b.io"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let nowhere = app
        .client
        .post(app.url("/f/nowhere"))
        .json(&json!({"email": "a@b.io"}))
        .send()
        .await
        .unwrap();
    problem(nowhere, StatusCode::NOT_FOUND).await;

    let bad_definition = app
        .client
        .put(app.url("/api/v1/forms/Bad Key"))
        .bearer_auth(&app.key)
        .json(&json!({"title": "x", "fields": [{"name": "email", "label": "Email"}]}))
        .send()
        .await
        .unwrap();
    let body = problem(bad_definition, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&body), ["key"]);
    let unauthorised = app
        .client
        .get(app.url("/api/v1/forms"))
        .send()
        .await
        .unwrap();
    problem(unauthorised, StatusCode::UNAUTHORIZED).await;
}

async fn a_known_lead_is_filled_never_overwritten_and_a_bot_marks_only_its_submission(
    app: &TestApp,
) {
    define(app).await;
    let created = app
        .post(
            "/api/v1/leads",
            &json!({"email": "ana@acme.io", "first_name": "Ana", "company": "Acme"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = lead_by_email(app, "ana@acme.io").await["id"]
        .as_i64()
        .unwrap();
    let shown = chrono::Utc::now().timestamp_millis() - 30_000;
    let post = |body: Value| async move {
        let sent = app
            .client
            .post(app.url("/f/demo"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), StatusCode::CREATED, "answered like any post");
    };
    // A stranger's post with Ana's email: the empty fields are filled, hers are kept.
    post(
        json!({"email": "ana@acme.io", "first_name": "Mallory", "company": "Evil Corp",
                "company_size": "40", "custom.interest": "pricing", "consent": "on", "_ts": shown}),
    )
    .await;
    let lead = lead_by_email(app, "ana@acme.io").await;
    assert_eq!(lead["first_name"], "Ana");
    assert_eq!(lead["company"], "Acme");
    assert_eq!(lead["company_size"], 40);
    assert_eq!(lead["custom"]["interest"], "pricing");
    let submissions = || async move {
        let timeline: Value = app
            .get(&format!("/api/v1/leads/{id}/timeline"))
            .await
            .json()
            .await
            .unwrap();
        timeline["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "form_submitted" && e["actor"] == "form:demo")
            .cloned()
            .collect::<Vec<Value>>()
    };
    let held = &submissions().await[0]["payload"]["held"];
    assert_eq!(
        *held,
        json!({"first_name": "Mallory", "company": "Evil Corp"}),
        "what differs is kept for a person to accept"
    );
    // Bots (honeypot filled, no render time) posting a known email: the submission says so,
    // the lead is not flagged and nothing changes.
    post(json!({"email": "ana@acme.io", "first_name": "Bot", "consent": "on", "_hp": "x", "_ts": shown}))
    .await;
    post(json!({"email": "ana@acme.io", "consent": "on"})).await;
    let lead = lead_by_email(app, "ana@acme.io").await;
    assert_eq!(lead["junk"], json!([]));
    assert_eq!(lead["first_name"], "Ana");
    let flagged: Vec<bool> = submissions()
        .await
        .iter()
        .map(|e| e["payload"]["bot"].as_bool().unwrap())
        .collect();
    assert_eq!(flagged, [true, true, false], "newest first");
    // Ana withdraws her consent to be contacted; a stranger's ticked box does not give it
    // back, and says so in its event.
    let withdrawn = app
        .post(
            &format!("/api/v1/leads/{id}/consents"),
            &json!({"purpose": "contact", "granted": false}),
        )
        .await;
    assert!(
        withdrawn.status().is_success(),
        "{:?}",
        withdrawn.text().await
    );
    post(json!({"email": "ana@acme.io", "consent": "on", "_ts": shown})).await;
    let consents: Value = app
        .get(&format!("/api/v1/leads/{id}/consents"))
        .await
        .json()
        .await
        .unwrap();
    let contact: Vec<&Value> = consents["current"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["purpose"] == "contact")
        .collect();
    assert_eq!(contact.len(), 1, "{consents}");
    assert_eq!(
        contact[0]["granted"], false,
        "the withdrawal stands: {consents}"
    );
    let newest = &submissions().await[0]["payload"]["input"]["consent"];
    assert_eq!(newest["given"], true);
    assert_eq!(newest["recorded"], false, "{newest}");
    // A bot's ticked box on a lead it creates grants nothing either.
    post(json!({"email": "hp@spam.io", "consent": "on", "_hp": "x", "_ts": shown})).await;
    let bot_lead = lead_by_email(app, "hp@spam.io").await["id"]
        .as_i64()
        .unwrap();
    let consents: Value = app
        .get(&format!("/api/v1/leads/{bot_lead}/consents"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(consents["current"], json!([]), "{consents}");

    // A new lead from a post without a render time is the bot's own: flagged.
    post(json!({"email": "nojs@spam.io", "consent": "on"})).await;
    assert_eq!(
        lead_by_email(app, "nojs@spam.io").await["junk"],
        json!(["bot_submission"])
    );

    // A stranger typing a known person's full name and company under another email is
    // suggested as that person, never merged into them.
    let known = app
        .post(
            "/api/v1/leads",
            &json!({"email": "wei.wang@tianhe.cn", "first_name": "Wei", "last_name": "Wang",
                    "company": "Tianhe Machinery"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    app.client
        .put(app.url("/api/v1/forms/full"))
        .bearer_auth(&app.key)
        .json(&json!({"title": "Full", "fields": [
            {"name": "email", "label": "Email"}, {"name": "first_name", "label": "First"},
            {"name": "last_name", "label": "Last"}, {"name": "company", "label": "Company"}]}))
        .send()
        .await
        .unwrap();
    let sent = app
        .client
        .post(app.url("/f/full"))
        .json(
            &json!({"email": "w@evil.example", "first_name": "Wei", "last_name": "Wang",
                      "company": "Tianhe Machinery", "_ts": shown}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::CREATED);
    let merges: Value = app.get("/api/v1/merges").await.json().await.unwrap();
    let merges = merges["merges"].as_array().unwrap();
    assert_eq!(merges.len(), 1, "{merges:?}");
    assert_eq!(merges[0]["status"], "suggested");
    assert_eq!(merges[0]["kept_person"], known["person_id"]);
    let stranger = lead_by_email(app, "w@evil.example").await;
    assert_ne!(stranger["person_id"], known["person_id"]);
}

async fn one_address_is_rate_limited(app: &TestApp) {
    define(app).await;
    for i in 0..20 {
        let ok = app
            .client
            .post(app.url("/f/demo"))
            .json(&json!({"email": format!("p{i}@acme.io"), "consent": "on"}))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::CREATED, "submission {i}");
    }
    let limited = app
        .client
        .post(app.url("/f/demo"))
        .json(&json!({"email": "p21@acme.io", "consent": "on"}))
        .send()
        .await
        .unwrap();
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    problem(limited, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(
        lead_by_email(app, "p21@acme.io").await.is_null(),
        "nothing stored"
    );
}
