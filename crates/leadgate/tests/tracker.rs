//! The website tracker in a real headless Chromium on each engine: a static site served by
//! the test carries the tracker's snippet and a Leadgate form. A visitor who agrees reads
//! three pages and sends the form: the new lead's timeline holds the pages at the times they
//! were read, before the form, and its score counts them. A visitor who never agrees leaves
//! nothing, not even an id in the browser. A site the tracker does not list is refused.
//! `tests/browser/tracker.mjs` drives the browser; this file serves and checks the store.

mod common;

use axum::extract::{Path as UrlPath, State};
use axum::response::Html;
use axum::Router;
use chrono::{DateTime, Utc};
use common::{install_browser, root};
use leadgate_core::form::FormDefinition;
use leadgate_core::visits::{ConsentMode, TrackerDefinition};
use leadgate_store::testing::{count, TestDatabase};
use leadgate_store::{Engine, Store};

#[derive(Clone)]
struct Site {
    leadgate: String,
    tracker: String,
    form: String,
}

/// A page of the test's static site: the snippet in the head, a consent banner, links to the
/// other pages, and on /contact the Leadgate form.
async fn page(State(site): State<Site>, path: Option<UrlPath<String>>) -> Html<String> {
    let page = path.map(|p| p.0).unwrap_or_default();
    let title = match page.as_str() {
        "" => "Home",
        "pricing" => "Pricing",
        "features" => "Features",
        "contact" => "Contact us",
        _ => "Not here",
    };
    let form = if page == "contact" {
        site.form.as_str()
    } else {
        ""
    };
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Acme {title}</title>\
         <script async src=\"{}/t.js\" data-tracker=\"{}\"></script></head><body>\
         <nav><a href=\"/\">Home</a> <a href=\"/pricing\">Pricing</a> <a href=\"/features\">Features</a> <a href=\"/contact\">Contact</a></nav>\
         <div id=\"banner\">We would like to remember what you read here. <button id=\"accept\" onclick=\"leadgate.consent(true)\">Accept</button></div>\
         <h1>{title}</h1>{form}</body></html>",
        site.leadgate, site.tracker
    ))
}

fn serve_site(listener: tokio::net::TcpListener, site: Site) -> tokio::task::JoinHandle<()> {
    let app = Router::new()
        .route("/", axum::routing::get(page))
        .route("/{page}", axum::routing::get(page))
        .with_state(site);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

async fn lead_of(store: &Store, email: &str) -> i64 {
    count(
        store,
        &format!("SELECT l.id FROM leads l JOIN people p ON p.id = l.person_id WHERE p.email = '{email}'"),
    )
    .await
}

async fn tracker_in_chromium(engine: Engine) {
    let db = TestDatabase::new(engine).await;
    let store = db.store().await;
    let form: FormDefinition = serde_json::from_value(serde_json::json!({
        "title": "Talk to us",
        "fields": [{"name": "first_name", "label": "Name"}, {"name": "email", "label": "Email", "required": true}],
        "min_fill_seconds": 1
    }))
    .expect("a form");
    store.save_form("contact", &form).await.expect("saved");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let leadgate = format!("http://{}", listener.local_addr().expect("an address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(leadgate::server::serve(store.clone(), listener, async {
        let _ = stopped.await;
    }));

    // The listed site and one that is not: the same pages, the same snippet.
    let listed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let unlisted = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let listed_url = format!("http://{}", listed.local_addr().expect("an address"));
    let unlisted_url = format!("http://{}", unlisted.local_addr().expect("an address"));
    let tracker = store
        .create_tracker(&TrackerDefinition {
            name: "Acme site".into(),
            sites: vec![listed_url.clone()],
            consent: ConsentMode::Required,
        })
        .await
        .expect("a tracker");
    let site = Site {
        leadgate: leadgate.clone(),
        tracker: tracker.key.clone(),
        form: form.embed(&format!("{leadgate}/f/contact")),
    };
    let listed_task = serve_site(listed, site.clone());
    let unlisted_task = serve_site(unlisted, site);

    let shots = root()
        .join("target/browser-screenshots")
        .join(format!("tracker-{engine:?}").to_lowercase());
    let output = tokio::process::Command::new("node")
        .arg(root().join("tests/browser/tracker.mjs"))
        .env("LEADGATE_URL", &leadgate)
        .env("SITE_URL", &listed_url)
        .env("OTHER_SITE_URL", &unlisted_url)
        .env("SHOTS", &shots)
        .output()
        .await
        .expect("node runs");
    // Stopping the server writes the views it still holds.
    let _ = stop.send(());
    let _ = server.await;
    listed_task.abort();
    unlisted_task.abort();
    assert!(
        output.status.success(),
        "the tracker's browser test failed on {engine:?}:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // The visitor who agreed: three pages before the form, at the times they were read.
    let agreed = leadgate_core::id::LeadId(lead_of(&store, "mai@acme.example").await);
    let timeline = store.timeline(agreed, 100, None).await.expect("timeline");
    let form_at: DateTime<Utc> = timeline
        .events
        .iter()
        .find(|e| e.event_type == "form_submitted")
        .map(|e| e.occurred_at.0)
        .expect("the form is on the timeline");
    let mut read: Vec<(DateTime<Utc>, String, u64)> = timeline
        .events
        .iter()
        .filter(|e| e.event_type == "page_viewed")
        .map(|e| {
            (
                e.occurred_at.0,
                e.payload.0["page"].as_str().unwrap_or_default().to_owned(),
                e.payload.0["seconds"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    read.sort();
    let before: Vec<&str> = read
        .iter()
        .filter(|(at, _, _)| *at < form_at)
        .map(|(_, page, _)| page.as_str())
        .collect();
    assert_eq!(
        &before[..3],
        ["/", "/pricing", "/features"],
        "{engine:?}: the pages read before the form, in order: {read:?}"
    );
    assert!(
        read[..3].windows(2).all(|w| w[0].0 < w[1].0),
        "each at its own time: {read:?}"
    );
    assert!(
        read[..3].iter().all(|(_, _, seconds)| *seconds >= 1),
        "time on each page is recorded: {read:?}"
    );
    let score = leadgate_app::rescore::score_lead(&store, agreed, Utc::now())
        .await
        .expect("scored");
    let browsed = score
        .score
        .explanation
        .iter()
        .find(|c| c.rule == "Browsed the site")
        .expect("the visits are scored");
    assert!(browsed.events.len() >= 3, "{browsed:?}");
    assert!(
        score
            .score
            .explanation
            .iter()
            .any(|c| c.rule == "Visited pricing"),
        "{:?}",
        score.score.explanation
    );

    // The visitor who never agreed: a lead from the form, and nothing of their reading.
    let withheld = lead_of(&store, "bao@acme.example").await;
    assert!(withheld > 0, "the form still works without consent");
    assert_eq!(
        count(
            &store,
            &format!(
                "SELECT COUNT(*) FROM events WHERE lead_id = {withheld} AND type = 'page_viewed'"
            )
        )
        .await,
        0
    );
    // One visitor in all: the one who agreed. Nothing from the site not listed.
    assert_eq!(count(&store, "SELECT COUNT(*) FROM visitors").await, 1);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM page_views").await, 0);
    store.close().await;
    db.cleanup().await;
}

/// The demo as `leadgate demo` serves it: its sample site carries the demo tracker's
/// snippet, and a visitor who agrees there and sends the demo form is followed.
async fn the_demo_site_in_chromium() {
    let db = TestDatabase::new(Engine::Sqlite).await;
    let store = db.store().await;
    leadgate::cli::demo::seed(&store, 200, 3, false)
        .await
        .expect("demo data");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    let tracker = leadgate::cli::demo::demo_tracker(&store, address)
        .await
        .expect("the demo tracker");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let settings = leadgate::server::ServerSettings {
        demo_site: Some(tracker),
        ..Default::default()
    };
    let server = tokio::spawn(leadgate::server::serve_with(
        store.clone(),
        listener,
        settings,
        async {
            let _ = stopped.await;
        },
    ));
    let output = tokio::process::Command::new("node")
        .arg(root().join("tests/browser/demo_site.mjs"))
        .env("DEMO_URL", format!("http://{address}"))
        .env(
            "SHOTS",
            root().join("target/browser-screenshots/tracker-demo"),
        )
        .output()
        .await
        .expect("node runs");
    let _ = stop.send(());
    let _ = server.await;
    assert!(
        output.status.success(),
        "the demo site's browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let lead = lead_of(&store, "demo.visitor@acme.example").await;
    let pages = count(
        &store,
        &format!("SELECT COUNT(*) FROM events WHERE lead_id = {lead} AND type = 'page_viewed'"),
    )
    .await;
    assert!(pages >= 2, "the demo site's pages are on the lead: {pages}");
    store.close().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracker_follows_a_visitor_who_agreed_and_no_one_else_on_both_engines() {
    install_browser();
    tracker_in_chromium(Engine::Sqlite).await;
    tracker_in_chromium(Engine::Postgres).await;
    the_demo_site_in_chromium().await;
}
