//! Webhooks over real HTTP to a real receiver, on both engines: signed deliveries, a
//! receiver that fails or hangs (logged, retried, replayed), and targets refused (SSRF).

#[macro_use]
mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use common::{fields, problem, TestApp};
use leadgate::jobs::DeliverySettings;
use leadgate_core::webhook::signature;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

on_both_engines!(bad_and_private_targets_are_refused);

/// What the receiver got: headers and body of each request.
type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A receiver on this machine answering `statuses` in turn (the last one from then on),
/// after `delay`.
async fn receiver(statuses: Vec<u16>, delay: Duration) -> (String, Received) {
    let received: Received = Default::default();
    let state = (received.clone(), Arc::new(statuses), delay);
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |State((received, statuses, delay)): State<(Received, Arc<Vec<u16>>, Duration)>,
                 headers: HeaderMap,
                 body: String| async move {
                    tokio::time::sleep(delay).await;
                    let n = {
                        let mut got = received.lock().unwrap();
                        got.push((headers, body));
                        got.len()
                    };
                    let status = statuses[(n - 1).min(statuses.len() - 1)];
                    (AxumStatus::from_u16(status).unwrap(), format!("answer {n}"))
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited in vain for {what}");
}

async fn deliveries(app: &TestApp, webhook: i64) -> Vec<Value> {
    app.get(&format!("/api/v1/webhooks/{webhook}/deliveries"))
        .await
        .json::<Value>()
        .await
        .unwrap()["deliveries"]
        .as_array()
        .unwrap()
        .clone()
}

async fn deliveries_are_signed_failures_logged_and_replayed(engine: leadgate_store::Engine) {
    let settings = DeliverySettings {
        allow_private: true,
        timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let app = TestApp::spawn_with(engine, settings.clone()).await;
    let (url, received) = receiver(vec![500, 200], Duration::ZERO).await;
    let made = app
        .post(
            "/api/v1/webhooks",
            &json!({"url": url, "events": ["call_logged"], "description": "CRM sync"}),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: Value = made.json().await.unwrap();
    let secret = made["secret"].as_str().unwrap().to_owned();
    let webhook = made["id"].as_i64().unwrap();
    let listed: Value = app.get("/api/v1/webhooks").await.json().await.unwrap();
    assert!(
        listed["webhooks"][0].get("secret").is_none(),
        "the secret is shown once"
    );

    let lead = app
        .post("/api/v1/leads", &json!({"email": "hoa@saigon.vn"}))
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let logged = app
        .post(
            &format!("/api/v1/leads/{lead}/interactions"),
            &json!({"type": "call", "outcome": "connected"}),
        )
        .await;
    assert_eq!(logged.status(), StatusCode::CREATED);
    let event_id = logged.json::<Value>().await.unwrap()["event_id"]
        .as_i64()
        .unwrap();

    let _worker = leadgate::jobs::start(&app.store, chrono::Duration::seconds(30), settings);
    wait_for("the first attempt", || received.lock().unwrap().len() == 1).await;
    // The first answer was 500: logged, and the job waits for its retry.
    let mut log = Vec::new();
    for _ in 0..100 {
        log = deliveries(&app, webhook).await;
        if !log.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log[0]["status"], 500);
    assert_eq!(log[0]["ok"], false);
    assert_eq!(log[0]["response"], "answer 1");
    // The worker logs the delivery, then puts its job back in the queue: wait for the second.
    let jobs = app
        .get_json_until("/api/v1/jobs?kind=webhook_delivery", |jobs| {
            jobs["jobs"][0]["state"] != "running"
        })
        .await;
    assert_eq!(jobs["jobs"][0]["state"], "queued");
    assert!(jobs["jobs"][0]["last_error"]
        .as_str()
        .unwrap()
        .contains("500"));

    let (headers, body) = received.lock().unwrap()[0].clone();
    let sent: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sent["id"], event_id);
    assert_eq!(sent["type"], "call_logged");
    assert_eq!(sent["lead_id"], lead);
    let header = headers["leadgate-signature"].to_str().unwrap();
    let t: i64 = header
        .strip_prefix("t=")
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        header,
        signature(&secret, t, body.as_bytes()),
        "signed with the secret"
    );
    assert_eq!(
        headers["leadgate-event-id"].to_str().unwrap(),
        event_id.to_string()
    );

    // A replay goes out now, and the receiver takes it.
    let replay = app
        .post(
            &format!("/api/v1/webhooks/{webhook}/replay"),
            &json!({"event_id": event_id}),
        )
        .await;
    assert_eq!(replay.status(), StatusCode::ACCEPTED);
    wait_for("the replay", || received.lock().unwrap().len() == 2).await;
    for _ in 0..100 {
        log = deliveries(&app, webhook).await;
        if log.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["ok"], true);
    let bad = app
        .post(
            &format!("/api/v1/webhooks/{webhook}/replay"),
            &json!({"event_id": 999_999}),
        )
        .await;
    problem(bad, StatusCode::NOT_FOUND).await;
    let paused = app
        .post(&format!("/api/v1/webhooks/{webhook}/pause"), &json!({}))
        .await;
    assert_eq!(paused.json::<Value>().await.unwrap()["active"], false);
    app.finish().await;
}

async fn a_hanging_receiver_times_out(engine: leadgate_store::Engine) {
    let settings = DeliverySettings {
        allow_private: true,
        timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let app = TestApp::spawn_with(engine, settings.clone()).await;
    let (url, _received) = receiver(vec![200], Duration::from_secs(5)).await;
    let made: Value = app
        .post("/api/v1/webhooks", &json!({"url": url, "events": ["*"]}))
        .await
        .json()
        .await
        .unwrap();
    let webhook = made["id"].as_i64().unwrap();
    app.post("/api/v1/leads", &json!({"email": "slow@example.com"}))
        .await;
    let _worker = leadgate::jobs::start(&app.store, chrono::Duration::seconds(30), settings);
    let mut log = Vec::new();
    for _ in 0..100 {
        log = deliveries(&app, webhook).await;
        if !log.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log[0]["ok"], false);
    assert_eq!(log[0]["error"], "no answer within 1 s");
    assert!(log[0]["status"].is_null());
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_deliveries_are_signed_failures_logged_and_replayed() {
    deliveries_are_signed_failures_logged_and_replayed(leadgate_store::Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_deliveries_are_signed_failures_logged_and_replayed() {
    deliveries_are_signed_failures_logged_and_replayed(leadgate_store::Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_hanging_receiver_times_out() {
    a_hanging_receiver_times_out(leadgate_store::Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_hanging_receiver_times_out() {
    a_hanging_receiver_times_out(leadgate_store::Engine::Postgres).await;
}

async fn bad_and_private_targets_are_refused(app: &TestApp) {
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::127.0.0.1]/x",
        "http://[64:ff9b::127.0.0.1]/x",
        "http://[2002:7f00:1::1]/x",
    ] {
        let refused = app
            .post("/api/v1/webhooks", &json!({"url": url, "events": ["*"]}))
            .await;
        let body = problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(fields(&body), ["url"], "{url}");
        assert!(
            body["errors"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("private address"),
            "{body}"
        );
    }
    let bad = app
        .post(
            "/api/v1/webhooks",
            &json!({"url": "ftp://files.example.com", "events": ["stage_changed", "lunch"]}),
        )
        .await;
    let body = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&body), ["events[1]", "url"]);
    problem(
        app.get("/api/v1/webhooks/7/deliveries").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.post("/api/v1/webhooks/7/explode", &json!({})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let listed: Value = app.get("/api/v1/webhooks").await.json().await.unwrap();
    assert!(
        listed["webhooks"].as_array().unwrap().is_empty(),
        "nothing stored"
    );
}
