//! The dashboard in a real headless Chromium (Debian's, driven by playwright-core) against a
//! real running server on each engine, with demo data: `tests/browser/dashboard.mjs` signs in
//! as each role, works a lead from MQL to won, drags on the board, and checks access, CSRF,
//! escaping and languages. Screenshots land in `target/browser-screenshots/<engine>/`.

mod common;

use common::{install_browser, root};
use leadgate_core::access::LeadScope;
use leadgate_core::Stage;
use leadgate_store::testing::{capture, TestDatabase};
use leadgate_store::{Engine, LeadFilter, Store};
use serde_json::json;

/// An MQL of `team`, owned by `rep`.
async fn mql_of(store: &Store, rep: &str, fields: serde_json::Value) -> leadgate_core::id::LeadId {
    let id = capture(store, fields).await;
    leadgate_app::qualify::transition(store, id, Stage::Mql, Some("browser test"), false, "test")
        .await
        .expect("marked MQL");
    let lead = store.lead(id).await.unwrap();
    if lead.lead.owner.as_ref().map(|o| o.as_str()) != Some(rep) {
        leadgate_app::route::reassign(store, id, rep, "browser test", "test", &LeadScope::All)
            .await
            .expect("reassigned");
    }
    id
}

async fn dashboard_in_chromium(engine: Engine) {
    let db = TestDatabase::new(engine).await;
    let store = db.store().await;
    leadgate::cli::demo::seed(&store, 300, 7, false)
        .await
        .expect("demo data");
    let lead = mql_of(
        &store,
        "li.na",
        json!({"first_name": "سارا", "last_name": "<i>Karimi</i>", "email": "sara.karimi@parsian.example",
               "company": "پارسیان تجارت", "country": "China", "job_title": "CTO"}),
    )
    .await;
    // A second MQL of the team, for the board.
    mql_of(
        &store,
        "li.na",
        json!({"first_name": "明", "last_name": "王", "email": "wang.ming@example.cn", "company": "星辰科技有限公司", "country": "China"}),
    )
    .await;
    // An SQL of the team, for recording a win from the board.
    let sql = mql_of(
        &store,
        "li.na",
        json!({"first_name": "Hoa", "last_name": "Lê", "email": "hoa.le@example.vn", "company": "Sông Hồng JSC", "country": "Vietnam"}),
    )
    .await;
    for (to, reason) in [
        (Stage::Sal, None),
        (Stage::Sql, Some("budget agreed on the call")),
    ] {
        leadgate_app::qualify::transition(&store, sql, to, reason, true, "li.na")
            .await
            .expect("qualified");
    }
    let other = mql_of(
        &store,
        "j.miller",
        json!({"first_name": "Ann", "last_name": "Lee", "email": "ann.lee@acme.example", "company": "Acme", "country": "United States"}),
    )
    .await;
    assert!(
        store
            .list_leads(&LeadFilter {
                team: Some("apac".into()),
                limit: 1,
                ..LeadFilter::default()
            })
            .await
            .unwrap()
            .leads
            .len()
            == 1,
        "the rep's team has leads"
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(leadgate::server::serve(store.clone(), listener, async {
        let _ = stopped.await;
    }));

    let shots = root()
        .join("target/browser-screenshots")
        .join(format!("{engine:?}").to_lowercase());
    let output = tokio::process::Command::new("node")
        .arg(root().join("tests/browser/dashboard.mjs"))
        .env("BASE_URL", &base)
        .env("LEAD_ID", lead.to_string())
        .env("OTHER_LEAD_ID", other.to_string())
        .env("SQL_LEAD_ID", sql.to_string())
        .env("SHOTS", &shots)
        .output()
        .await
        .expect("node runs");
    let _ = stop.send(());
    let _ = server.await;
    store.close().await;
    db.cleanup().await;
    assert!(
        output.status.success(),
        "browser tests failed on {engine:?}:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

// One test for both engines: they share the one installation step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_real_browser_on_both_engines() {
    install_browser();
    dashboard_in_chromium(Engine::Sqlite).await;
    dashboard_in_chromium(Engine::Postgres).await;
}
