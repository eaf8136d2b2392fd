//! Inbound email over the API on both engines: a relay posts raw messages to a server with
//! an inbound address; keys that may not, and a server with no inbound address, are refused.

#[macro_use]
mod common;

use common::{fields, TestApp};
use leadgate_core::access::Role;
use reqwest::StatusCode;
use serde_json::Value;

on_both_engines!(a_relay_posts_messages_that_become_leads);

const MESSAGE: &str = "From: =?UTF-8?B?546L5Lyf?= <wang.wei@tianhe.cn>\r\n\
    To: sales@acme.example\r\n\
    Subject: =?UTF-8?B?6K+i5Lu377ya5pWw5o6n5py65bqK?=\r\n\
    Message-ID: <api1@tianhe.cn>\r\n\
    \r\n\
    您好，请报价。\r\n";

async fn a_relay_posts_messages_that_become_leads(app: &TestApp) {
    let server = app
        .second_server(leadgate::server::ServerSettings {
            inbound_addresses: vec![leadgate_core::Email::parse("sales@acme.example").unwrap()],
            ..Default::default()
        })
        .await;
    let post = |base: String, key: String, body: &'static str| {
        app.client
            .post(format!("{base}/api/v1/inbound/email"))
            .bearer_auth(key)
            .header("content-type", "message/rfc822")
            .body(body)
            .send()
    };
    let made = post(server.clone(), app.key.clone(), MESSAGE)
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: Value = made.json().await.unwrap();
    assert_eq!(made["created"], true);
    assert_eq!(made["logged"], true);
    let lead = made["lead_id"].as_i64().unwrap();
    let timeline: Value = app
        .get(&format!("/api/v1/leads/{lead}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let logged: Vec<&Value> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "email_logged")
        .collect();
    assert_eq!(logged.len(), 1, "{timeline}");
    assert_eq!(logged[0]["payload"]["subject"], "询价：数控机床");

    // The lead page says who wrote and about what, in the reader's language.
    app.store
        .create_user(leadgate_store::NewUser {
            name: "lan".into(),
            display_name: None,
            role: Role::Marketing,
            team: None,
            locale: "zh-CN".into(),
            time_zone: String::new(),
            password: "correct horse battery".into(),
        })
        .await
        .unwrap();
    let browser = common::session::sign_in(app, "lan", "correct horse battery").await;
    let (status, page) = browser.page(&format!("/leads/{lead}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("wang.wei@tianhe.cn: 询价：数控机床 · 您好，请报价。"),
        "{page}"
    );

    let again = post(server.clone(), app.key.clone(), MESSAGE)
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(
        (again["lead_id"].as_i64(), again["logged"].as_bool()),
        (Some(lead), Some(false))
    );

    let bad = post(server.clone(), app.key.clone(), "no headers, no sender")
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&bad.json().await.unwrap()), ["from"]);

    // A message larger than a JSON body (a 3 MB attachment) is taken.
    let big: &'static str = Box::leak(
        format!(
            "From: big@tianhe.cn\r\nTo: sales@acme.example\r\nSubject: drawings\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
             --b\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"cad.bin\"\r\n\r\n{}\r\n--b--\r\n",
            "x".repeat(3_000_000)
        )
        .into_boxed_str(),
    );
    let taken = post(server.clone(), app.key.clone(), big).await.unwrap();
    assert_eq!(taken.status(), StatusCode::CREATED);

    // This suite's own server has no inbound address.
    let nowhere = post(app.base.clone(), app.key.clone(), MESSAGE)
        .await
        .unwrap();
    assert_eq!(nowhere.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&nowhere.json().await.unwrap()), ["to"]);

    // A relay's key is an integration's: a viewer's is refused.
    let viewer = app
        .store
        .create_api_key("viewer", Role::Viewer, None)
        .await
        .unwrap()
        .secret;
    let refused = post(server, viewer, MESSAGE).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}
