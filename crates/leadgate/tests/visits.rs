//! The website tracker over HTTP on both engines: trackers made and changed through the API
//! and the forms page, the collect endpoint's refusals (no Origin, a site not listed, an
//! unknown tracker, a malformed or oversized post) and what it records nothing of (Do Not
//! Track, Global Privacy Control, robots), a form that joins a visitor's history to its
//! lead, and a server that stops writing the views it still held.

#[macro_use]
mod common;

use common::{fields, problem, TestApp};
use leadgate_store::testing::count;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_engines!(
    trackers_are_managed_and_the_collect_endpoint_refuses_what_it_must,
    a_form_joins_the_visitors_history_and_a_stopping_server_writes_what_it_held
);

const SITE: &str = "https://www.acme.example";
const BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";

fn post_of(tracker: &str, visitor: &str, view: &str, page: &str) -> Value {
    json!({"tracker": tracker, "visitor": visitor, "views": [{
        "id": view, "url": format!("{SITE}{page}?utm_source=news&email=ann%40x.example"), "title": "Acme",
        "at": chrono::Utc::now().timestamp_millis() - 5_000, "seconds": 4.2, "visit": 1}]})
}

async fn collect(
    base: &str,
    origin: Option<&str>,
    body: &Value,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/t/collect"))
        .header("content-type", "text/plain;charset=UTF-8")
        .header("user-agent", BROWSER)
        .body(body.to_string());
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// Waits until the server has written what it held (at most a second, then some).
async fn written(app: &TestApp, sql: &str, want: i64) -> i64 {
    let mut got = 0;
    for _ in 0..40 {
        got = count(&app.store, sql).await;
        if got == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    got
}

async fn trackers_are_managed_and_the_collect_endpoint_refuses_what_it_must(app: &TestApp) {
    let refused = app
        .post(
            "/api/v1/trackers",
            &json!({"name": "", "sites": ["ftp://x.example", "https://u:p@x.example"]}),
        )
        .await;
    let refused = problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        fields(&refused),
        ["name", "sites[0]", "sites[1]"],
        "{refused}"
    );
    let made = app
        .post(
            "/api/v1/trackers",
            &json!({"name": "Acme", "sites": ["https://WWW.acme.example/"]}),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: Value = made.json().await.unwrap();
    let key = made["key"].as_str().unwrap().to_owned();
    assert_eq!(made["definition"]["sites"], json!([SITE]));
    assert_eq!(made["definition"]["consent"], "required");
    assert!(made["snippet"]
        .as_str()
        .unwrap()
        .contains(&format!("data-tracker=\"{key}\"")));
    let script = app.client.get(app.url("/t.js")).send().await.unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(script.text().await.unwrap().contains("sendBeacon"));

    let visitor = "0123456789abcdef0123456789abcdef";
    let body = post_of(&key, visitor, "view-0000000000000001", "/pricing");
    let no_origin = collect(&app.base, None, &body, &[]).await;
    assert!(fields(&problem(no_origin, StatusCode::FORBIDDEN).await).is_empty());
    let elsewhere = collect(&app.base, Some("https://evil.example"), &body, &[]).await;
    let elsewhere = problem(elsewhere, StatusCode::FORBIDDEN).await;
    assert!(
        elsewhere["detail"].as_str().unwrap().contains("Origin"),
        "{elsewhere}"
    );
    let unknown = collect(
        &app.base,
        Some(SITE),
        &post_of(
            "t_nosuchtracker000000",
            visitor,
            "view-0000000000000001",
            "/",
        ),
        &[],
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let mut broken = body.clone();
    broken["views"][0]["url"] = json!("https://evil.example/pricing");
    broken["views"][0]["at"] = json!("yesterday");
    let broken = collect(&app.base, Some(SITE), &broken, &[]).await;
    let broken = problem(broken, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        fields(&broken).iter().any(|f| f.starts_with("views[0]")),
        "{broken}"
    );
    let huge = json!({"tracker": key, "visitor": visitor, "views": [], "pad": "x".repeat(70_000)});
    assert_eq!(
        collect(&app.base, Some(SITE), &huge, &[]).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );

    // Asked not to be tracked, or a robot: answered alike, recorded not at all.
    for extra in [
        &[("dnt", "1")][..],
        &[("sec-gpc", "1")][..],
        &[(
            "user-agent",
            "Googlebot/2.1 (+http://www.google.com/bot.html)",
        )][..],
    ] {
        let quiet = collect(&app.base, Some(SITE), &body, extra).await;
        assert_eq!(quiet.status(), StatusCode::NO_CONTENT, "{extra:?}");
    }
    let accepted = collect(&app.base, Some(SITE), &body, &[]).await;
    assert_eq!(accepted.status(), StatusCode::NO_CONTENT);
    assert_eq!(accepted.headers()["access-control-allow-origin"], SITE);
    assert_eq!(written(app, "SELECT COUNT(*) FROM page_views", 1).await, 1);
    // The campaign tag is kept; the rest of the query (an address, here) is not.
    assert_eq!(
        count(&app.store, "SELECT COUNT(*) FROM page_views WHERE view LIKE '%utm_source%' AND view NOT LIKE '%email=%'").await,
        1
    );

    // A site added later is accepted at once on this server.
    let changed = app
        .put(&format!("/api/v1/trackers/{key}"), &json!({"name": "Acme", "sites": [SITE, "https://shop.acme.example"], "consent": "implied"}))
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let shop = json!({"tracker": key, "visitor": visitor, "views": [{"id": "view-0000000000000002",
        "url": "https://shop.acme.example/cart", "at": chrono::Utc::now().timestamp_millis(), "visit": 1}]});
    assert_eq!(
        collect(&app.base, Some("https://shop.acme.example"), &shop, &[])
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(written(app, "SELECT COUNT(*) FROM page_views", 2).await, 2);
    let listed: Value = app.get("/api/v1/trackers").await.json().await.unwrap();
    assert_eq!(listed["trackers"][0]["definition"]["consent"], "implied");
}

async fn a_form_joins_the_visitors_history_and_a_stopping_server_writes_what_it_held(
    app: &TestApp,
) {
    let made: Value = app
        .post(
            "/api/v1/trackers",
            &json!({"name": "Acme", "sites": [SITE]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let key = made["key"].as_str().unwrap().to_owned();
    app.put(
        "/api/v1/forms/contact",
        &json!({"title": "Contact", "fields": [{"name": "email", "label": "Email", "required": true}], "min_fill_seconds": 0}),
    )
    .await;
    // A server of its own, stopped right after the views are posted: well within the
    // second it may hold them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(leadgate::server::serve(
        app.store.clone(),
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    let visitor = "fedcba9876543210fedcba9876543210";
    for (n, page) in ["/", "/pricing", "/features"].iter().enumerate() {
        let body = post_of(&key, visitor, &format!("view-000000000000000{n}"), page);
        assert_eq!(
            collect(&base, Some(SITE), &body, &[]).await.status(),
            StatusCode::NO_CONTENT
        );
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    assert_eq!(
        count(&app.store, "SELECT COUNT(*) FROM page_views").await,
        3,
        "written as the server stopped"
    );

    let sent = app
        .client
        .post(app.url("/f/contact"))
        .form(&[
            ("email", "ann@acme.example"),
            ("_ts", "1"),
            ("_lgv", visitor),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::CREATED);
    let lead = count(&app.store, "SELECT l.id FROM leads l JOIN people p ON p.id = l.person_id WHERE p.email = 'ann@acme.example'").await;
    assert_eq!(
        count(
            &app.store,
            &format!("SELECT COUNT(*) FROM events WHERE lead_id = {lead} AND type = 'page_viewed'")
        )
        .await,
        3
    );
    assert_eq!(
        count(&app.store, "SELECT COUNT(*) FROM page_views").await,
        0
    );
    // Someone else sends the form with her address from their own browser: their
    // browsing does not become hers.
    let stranger = "0000aaaa1111bbbb2222cccc3333dddd";
    let body = post_of(&key, stranger, "view-stranger-00000001", "/pricing");
    assert_eq!(
        collect(&app.base, Some(SITE), &body, &[]).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(written(app, "SELECT COUNT(*) FROM page_views", 1).await, 1);
    let again = app
        .client
        .post(app.url("/f/contact"))
        .form(&[
            ("email", "ann@acme.example"),
            ("_ts", "1"),
            ("_lgv", stranger),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(
        count(&app.store, "SELECT COUNT(*) FROM page_views").await,
        1,
        "kept apart"
    );
    assert_eq!(
        count(
            &app.store,
            &format!("SELECT COUNT(*) FROM events WHERE lead_id = {lead} AND type = 'page_viewed'")
        )
        .await,
        3
    );
    // The lead page says which pages, in the reader's language.
    app.store
        .create_user(leadgate_store::NewUser {
            name: "mai".into(),
            display_name: None,
            role: leadgate_core::access::Role::Marketing,
            team: None,
            locale: "zh-CN".into(),
            time_zone: String::new(),
            password: "correct horse battery".into(),
        })
        .await
        .unwrap();
    let browser = common::session::sign_in(app, "mai", "correct horse battery").await;
    let (status, page) = browser.page(&format!("/leads/{lead}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("/pricing · Acme · 第 1 次访问 · 阅读 4 秒"),
        "{page}"
    );
    // A tracker made on the forms page, refused first for a site that is no address.
    let (_, back) = browser
        .post_to(
            "/forms/trackers",
            &[
                ("name", "Shop"),
                ("sites", "shop.acme.example"),
                ("consent", "required"),
            ],
        )
        .await;
    assert!(
        back.contains("error=") && back.contains("sites[0]"),
        "{back}"
    );
    let (_, back) = browser
        .post_to(
            "/forms/trackers",
            &[
                ("name", "Shop"),
                ("sites", "https://shop.acme.example\nhttps://acme.example"),
                ("consent", "implied"),
            ],
        )
        .await;
    assert_eq!(back, "/forms?done=tracker");
    let (_, forms) = browser.page("/forms").await;
    assert!(
        forms.contains("https://shop.acme.example\nhttps://acme.example")
            && forms.contains("data-consent=&#34;implied&#34;"),
        "{forms}"
    );

    // The id joined the history; it is not kept with the form's fields.
    assert_eq!(
        count(&app.store, &format!("SELECT COUNT(*) FROM events WHERE CAST(payload AS TEXT) LIKE '%{visitor}%' AND type = 'form_submitted'")).await,
        0
    );
}
