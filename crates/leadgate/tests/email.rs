//! Email over real SMTP, on both engines: an SMTP server the test starts on this machine
//! receives what the outbox sends; a server that is down or refuses leaves the email queued
//! with the error; a person who refused email is never emailed.

#[macro_use]
mod common;

use common::{fields, problem, TestApp};
use leadgate::jobs::DeliverySettings;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

on_both_engines!(templates_and_refusals_are_checked);

/// An SMTP server on this machine (RFC 5321: greeting, EHLO, MAIL, RCPT, DATA, QUIT) that
/// keeps every message it accepts, answering DATA with `data_reply`.
async fn smtp_server(data_reply: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let messages: Arc<Mutex<Vec<String>>> = Default::default();
    let kept = messages.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test.local ESMTP\r\n").await.unwrap();
                let mut in_data = false;
                let mut message = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            if data_reply.starts_with('2') {
                                kept.lock().unwrap().push(std::mem::take(&mut message));
                            }
                            write
                                .write_all(format!("{data_reply}\r\n").as_bytes())
                                .await
                                .unwrap();
                        } else {
                            // Transparency (RFC 5321 4.5.2): a leading dot was doubled.
                            message.push_str(line.strip_prefix('.').unwrap_or(&line));
                            message.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 test.local\r\n",
                        "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"502 not implemented\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (url, messages)
}

async fn outbox(app: &TestApp, lead: i64) -> Vec<Value> {
    app.get(&format!("/api/v1/emails?lead_id={lead}"))
        .await
        .json::<Value>()
        .await
        .unwrap()["emails"]
        .as_array()
        .unwrap()
        .clone()
}

async fn wait_state(app: &TestApp, lead: i64, state: &str) -> Value {
    for _ in 0..100 {
        let emails = outbox(app, lead).await;
        if emails.first().is_some_and(|e| e["state"] == state) {
            return emails[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the email never became {state}: {:?}",
        outbox(app, lead).await
    );
}

async fn setup(app: &TestApp) -> i64 {
    let put = app
        .put(
            "/api/v1/email-templates/welcome",
            &json!({"subject": "{{first_name}}, welcome to Leadgate", "body": "Chào {{first_name}},\n{{owner}} will call you."}),
        )
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);
    app.post(
        "/api/v1/leads",
        &json!({"email": "lan@saigon.vn", "first_name": "Lan", "owner": "minh"}),
    )
    .await
    .json::<Value>()
    .await
    .unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn sent_through_a_real_smtp_server(engine: leadgate_store::Engine) {
    let (url, messages) = smtp_server("250 queued").await;
    let settings = DeliverySettings {
        smtp_url: Some(url),
        mail_from: "Sales <sales@leadgate.test>".into(),
        ..Default::default()
    };
    let app = TestApp::spawn_with(engine, settings.clone()).await;
    let lead = setup(&app).await;
    let queued = app
        .post(
            &format!("/api/v1/leads/{lead}/emails"),
            &json!({"template": "welcome"}),
        )
        .await;
    assert_eq!(queued.status(), StatusCode::ACCEPTED);
    let _worker = leadgate::jobs::start(&app.store, chrono::Duration::seconds(30), settings);
    let email = wait_state(&app, lead, "sent").await;
    let message = messages.lock().unwrap()[0].clone();
    assert!(
        message.contains("Subject: Lan, welcome to Leadgate"),
        "{message}"
    );
    assert!(message.contains("To: lan@saigon.vn"), "{message}");
    assert!(
        message.contains(email["message_id"].as_str().unwrap()),
        "{message}"
    );
    let timeline: Value = app
        .get(&format!("/api/v1/leads/{lead}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    assert!(timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "email_sent"));
    let again = app
        .post(
            &format!("/api/v1/emails/{}/resend", email["id"]),
            &json!({}),
        )
        .await;
    problem(again, StatusCode::CONFLICT).await;
    assert_eq!(messages.lock().unwrap().len(), 1, "sent once");
    app.finish().await;
}

async fn event_types(app: &TestApp, lead: i64) -> Vec<String> {
    let timeline: Value = app
        .get(&format!("/api/v1/leads/{lead}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn score_text(app: &TestApp, lead: i64) -> String {
    app.get(&format!("/api/v1/leads/{lead}/score"))
        .await
        .text()
        .await
        .unwrap()
}

/// An email to a lead through a real SMTP server, tracked: it carries the one-click
/// unsubscribe headers and an HTML part with the open pixel and its link through the server.
/// A fetch on delivery is a machine's (recorded apart, not scored), a later one a person's
/// open; a click goes on to the email's own link only; one click unsubscribes.
async fn opens_clicks_and_one_click_unsubscribe(engine: leadgate_store::Engine) {
    let (url, messages) = smtp_server("250 queued").await;
    let app = TestApp::spawn(engine).await;
    app.store
        .apply_policy(leadgate_core::policy::Policy::STARTER, "ops", "starter")
        .await
        .unwrap();
    let settings = DeliverySettings {
        smtp_url: Some(url),
        public_url: Some(app.base.clone()),
        track_email: true,
        ..Default::default()
    };
    app.put(
        "/api/v1/email-templates/offer",
        &json!({"subject": "Prices", "body": "Hi {{first_name}},\nour prices: https://acme.example/prices."}),
    )
    .await;
    let lead = setup(&app).await;
    app.post(
        &format!("/api/v1/leads/{lead}/emails"),
        &json!({"template": "offer"}),
    )
    .await;
    let _worker = leadgate::jobs::start(&app.store, chrono::Duration::seconds(30), settings);
    let email = wait_state(&app, lead, "sent").await;
    let token = email["message_id"].as_str().unwrap().to_owned();
    let raw = messages.lock().unwrap()[0].clone();
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    let at = |rest: &str| format!("{}/e/{token}/{rest}", app.base);
    assert_eq!(
        message.header_raw("List-Unsubscribe").map(str::trim),
        Some(format!("<{}>", at("unsubscribe")).as_str())
    );
    assert_eq!(
        message.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
    let text = message.body_text(0).unwrap().into_owned();
    assert!(
        text.contains(&format!("our prices: {}.", at("link/0"))),
        "{text}"
    );
    let html = message.body_html(0).unwrap().into_owned();
    assert!(html.contains(&at("open.gif")), "{html}");

    let browser = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)";
    let fetch = |agent: &'static str| {
        app.client
            .get(at("open.gif"))
            .header("user-agent", agent)
            .send()
    };
    // On delivery: a privacy proxy (a browser's agent, seconds after sending).
    let pixel = fetch(browser).await.unwrap();
    assert_eq!(pixel.status(), StatusCode::OK);
    assert_eq!(pixel.headers()["content-type"], "image/gif");
    fetch("Mozilla/5.0 (via ggpht.com GoogleImageProxy)")
        .await
        .unwrap();
    let seen = event_types(&app, lead).await;
    assert_eq!(seen.iter().filter(|t| *t == "email_prefetched").count(), 1);
    assert!(!seen.iter().any(|t| t == "email_opened"));
    assert!(!score_text(&app, lead).await.contains("Opened an email"));

    // An hour later, a person.
    let hour_ago = match engine {
        leadgate_store::Engine::Sqlite => "UPDATE emails SET sent_at = sent_at - 3600000000",
        leadgate_store::Engine::Postgres => {
            "UPDATE emails SET sent_at = sent_at - INTERVAL '1 hour'"
        }
    };
    leadgate_store::testing::execute(&app.store, hour_ago).await;
    fetch(browser).await.unwrap();
    assert!(event_types(&app, lead)
        .await
        .iter()
        .any(|t| t == "email_opened"));
    assert!(score_text(&app, lead).await.contains("Opened an email"));

    // A click goes to the email's own link, and no other.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let click = no_redirects.get(at("link/0")).send().await.unwrap();
    assert_eq!(click.status(), StatusCode::SEE_OTHER);
    assert_eq!(click.headers()["location"], "https://acme.example/prices");
    assert!(event_types(&app, lead)
        .await
        .iter()
        .any(|t| t == "email_clicked"));
    for other in ["link/1", "link/-1", "link/x"] {
        let refused = no_redirects.get(at(other)).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::NOT_FOUND, "{other}");
    }
    let forged = no_redirects
        .get(format!("{}/e/1.forged@leadgate/link/0", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::NOT_FOUND);

    // The unsubscribe page asks first (scanners follow links); the one-click POST refuses.
    let page = app.client.get(at("unsubscribe")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    let lead_now: Value = app
        .get(&format!("/api/v1/leads/{lead}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lead_now["do_not_email"], false, "a GET changes nothing");
    let done = app
        .client
        .post(at("unsubscribe"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept-language", "zh-CN")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("您已退订"));
    let lead_now: Value = app
        .get(&format!("/api/v1/leads/{lead}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lead_now["do_not_email"], true);
    // Posted again (mail clients retry): the refusal stands once in the history.
    app.client.post(at("unsubscribe")).send().await.unwrap();
    let consents: Value = app
        .get(&format!("/api/v1/leads/{lead}/consents"))
        .await
        .json()
        .await
        .unwrap();
    let refusals = consents["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["source"]
                .as_str()
                .unwrap_or("")
                .starts_with("unsubscribe:")
        })
        .count();
    assert_eq!(refusals, 1, "{consents}");
    let again = app
        .post(
            &format!("/api/v1/leads/{lead}/emails"),
            &json!({"template": "offer"}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "never emailed again");
    let unknown = app
        .client
        .post(format!("{}/e/1.forged@leadgate/unsubscribe", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    app.finish().await;
}

async fn a_server_down_or_refusing_leaves_it_queued(engine: leadgate_store::Engine) {
    // Nothing listens on this port: bind one, note it, let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = DeliverySettings {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        ..Default::default()
    };
    let app = TestApp::spawn_with(engine, settings.clone()).await;
    let lead = setup(&app).await;
    app.post(
        &format!("/api/v1/leads/{lead}/emails"),
        &json!({"template": "welcome"}),
    )
    .await;
    let _worker = leadgate::jobs::start(&app.store, chrono::Duration::seconds(30), settings);
    let mut email = Value::Null;
    for _ in 0..100 {
        email = outbox(&app, lead).await[0].clone();
        // Queued again with the error (a later retry shows `sending` for a moment).
        if email["error"].is_string() && email["state"] == "queued" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(email["state"], "queued");
    assert!(
        email["error"]
            .as_str()
            .unwrap()
            .contains("SMTP server did not take it"),
        "{email}"
    );
    let jobs: Value = app
        .get("/api/v1/jobs?kind=send_email")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(jobs["jobs"][0]["state"], "queued", "retried later");
    app.finish().await;

    let (url, messages) = smtp_server("451 try again later").await;
    let settings = DeliverySettings {
        smtp_url: Some(url),
        ..Default::default()
    };
    let app = TestApp::spawn_with(engine, settings.clone()).await;
    let lead = setup(&app).await;
    app.post(
        &format!("/api/v1/leads/{lead}/emails"),
        &json!({"template": "welcome"}),
    )
    .await;
    let _worker = leadgate::jobs::start(&app.store, chrono::Duration::seconds(30), settings);
    for _ in 0..100 {
        email = outbox(&app, lead).await[0].clone();
        // Queued again with the error (a later retry shows `sending` for a moment).
        if email["error"].is_string() && email["state"] == "queued" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(email["state"], "queued");
    assert!(email["error"].as_str().unwrap().contains("451"), "{email}");
    assert!(messages.lock().unwrap().is_empty());
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sent_through_a_real_smtp_server() {
    sent_through_a_real_smtp_server(leadgate_store::Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sent_through_a_real_smtp_server() {
    sent_through_a_real_smtp_server(leadgate_store::Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_opens_clicks_and_one_click_unsubscribe() {
    opens_clicks_and_one_click_unsubscribe(leadgate_store::Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_opens_clicks_and_one_click_unsubscribe() {
    opens_clicks_and_one_click_unsubscribe(leadgate_store::Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_server_down_or_refusing_leaves_it_queued() {
    a_server_down_or_refusing_leaves_it_queued(leadgate_store::Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_server_down_or_refusing_leaves_it_queued() {
    a_server_down_or_refusing_leaves_it_queued(leadgate_store::Engine::Postgres).await;
}

async fn templates_and_refusals_are_checked(app: &TestApp) {
    let bad = app
        .put(
            "/api/v1/email-templates/welcome",
            &json!({"subject": "Hi {{nick}}", "body": ""}),
        )
        .await;
    assert_eq!(
        fields(&problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["body", "subject"]
    );
    let lead = setup(app).await;
    let missing = app
        .post(
            &format!("/api/v1/leads/{lead}/emails"),
            &json!({"template": "nope"}),
        )
        .await;
    problem(missing, StatusCode::NOT_FOUND).await;
    let refused = app
        .post(
            &format!("/api/v1/leads/{lead}/consents"),
            &json!({"purpose": "email", "granted": false}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CREATED);
    let blocked = app
        .post(
            &format!("/api/v1/leads/{lead}/emails"),
            &json!({"template": "welcome"}),
        )
        .await;
    let body = problem(blocked, StatusCode::CONFLICT).await;
    assert!(
        body["detail"].as_str().unwrap().contains("Do Not Email"),
        "{body}"
    );
    assert!(outbox(app, lead).await.is_empty(), "nothing queued");
    let phone_only = app
        .post("/api/v1/leads", &json!({"phone": "+84 28 3822 1111"}))
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let no_address = app
        .post(
            &format!("/api/v1/leads/{phone_only}/emails"),
            &json!({"template": "welcome"}),
        )
        .await;
    problem(no_address, StatusCode::CONFLICT).await;
}
