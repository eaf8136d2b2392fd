//! `leadgate-bench collect`: page views/s through the site tracker's `POST /t/collect` (one
//! view a post, as the script sends them; held in memory and written a batch a second),
//! beside the same number of `page_viewed` events through `POST /api/v1/events` in batches,
//! in one run on a fresh store of each engine.

use crate::ingest::EngineChoice;
use chrono::Utc;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use leadgate_core::visits::{ConsentMode, TrackerDefinition};
use leadgate_core::EventDraft;
use leadgate_store::testing::{count, TestDatabase};
use leadgate_store::Engine;
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[arg(long, value_enum, default_value = "sqlite")]
    engine: EngineChoice,
    /// Page views posted (and events through the API beside them).
    #[arg(long, default_value_t = 200_000)]
    views: usize,
    /// Views per visitor (each visitor's views spread over the run, as people read).
    #[arg(long, default_value_t = 5)]
    per_visitor: usize,
    /// One visitor in this many is known (linked to a lead): their views become events.
    #[arg(long, default_value_t = 10)]
    known_every: usize,
    /// Posts in flight at once (browsers sending at the same time).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Leads in the store.
    #[arg(long, default_value_t = 2000)]
    leads: usize,
}

const SITE: &str = "https://www.bench.example";
const AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const PAGES: [&str; 8] = [
    "/",
    "/pricing",
    "/features",
    "/blog/scoring",
    "/blog/routing",
    "/customers",
    "/contact",
    "/docs",
];

struct Measured {
    engine: Engine,
    accepted: f64,
    stored: f64,
    events_api: f64,
}

pub async fn run(args: CollectArgs) -> anyhow::Result<()> {
    println!(
        "leadgate-bench collect: {} page views ({} per visitor, one in {} visitors known), {} posts in flight",
        args.views, args.per_visitor, args.known_every, args.concurrency
    );
    let mut results = Vec::new();
    for engine in args.engine.engines() {
        let (accepted, stored) = collect(engine, &args).await?;
        let events_api = events_api(engine, &args).await?;
        results.push(Measured {
            engine,
            accepted,
            stored,
            events_api,
        });
    }
    println!();
    println!("| engine | POST /t/collect, answered (views/s) | POST /t/collect, written incl. the last flush (views/s) | POST /api/v1/events, batches of 1,000 (events/s) | collect / events API |");
    println!("|---|---:|---:|---:|---:|");
    for r in &results {
        println!(
            "| {:?} | {:.0} | {:.0} | {:.0} | {:.2} |",
            r.engine,
            r.accepted,
            r.stored,
            r.events_api,
            r.stored / r.events_api
        );
    }
    Ok(())
}

/// The collect endpoint on a fresh store: (answered/s, written/s).
async fn collect(engine: Engine, args: &CollectArgs) -> anyhow::Result<(f64, f64)> {
    let db = TestDatabase::new(engine).await;
    let store = db.store().await;
    let mut demo = leadgate_demo::generate(7, args.leads, Utc::now());
    for lead in &mut demo {
        lead.events.clear();
    }
    let leads = leadgate::cli::demo::load(&store, &demo, |_| {}).await?;
    let tracker = store
        .create_tracker(&TrackerDefinition {
            name: "bench".into(),
            sites: vec![SITE.into()],
            consent: ConsentMode::Required,
        })
        .await?;
    let visitors: Vec<String> = (0..args.views.div_ceil(args.per_visitor))
        .map(|i| format!("{i:032x}"))
        .collect();
    let models = leadgate_app::Models::new(store.clone());
    let now = Utc::now();
    for (i, visitor) in visitors.iter().enumerate().step_by(args.known_every.max(1)) {
        leadgate_app::visits::identify(&store, &models, visitor, leads[i % leads.len()], now)
            .await?;
    }
    // Bodies are made before the clock starts: the browsers' work is not the server's.
    let at = now.timestamp_millis() - 60_000;
    let bodies: Vec<String> = (0..args.views)
        .map(|i| {
            let visitor = &visitors[i % visitors.len()];
            json!({"tracker": tracker.key, "visitor": visitor, "views": [{
                "id": format!("view-{i:016x}"), "url": format!("{SITE}{}?utm_source=news", PAGES[i % PAGES.len()]),
                "title": "Bench Co", "referrer": "https://www.google.com/", "at": at + (i as i64 % 60_000),
                "seconds": (i % 90) as f64, "visit": 1 + (i / visitors.len()) as u32}]})
            .to_string()
        })
        .collect();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/t/collect", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(leadgate::server::serve(
        store.clone(),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    let progress = ProgressBar::new(args.views as u64).with_style(
        ProgressStyle::with_template("{msg:28} {bar:30} {pos}/{len} ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_message(format!("{engine:?} collect"));
    // Each connection is a browser sending its beacons one after another. The requests
    // are written as bytes made beforehand: an HTTP client library on the same two cores
    // would measure itself more than the server (browsers run on their own machines).
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches("/t/collect")
        .to_owned();
    let connections = args.concurrency.max(1);
    let mut per_connection: Vec<Vec<Vec<u8>>> = vec![Vec::new(); connections];
    for (i, body) in bodies.into_iter().enumerate() {
        let request = format!(
            "POST /t/collect HTTP/1.1\r\nhost: {address}\r\norigin: {SITE}\r\nuser-agent: {AGENT}\r\ncontent-type: text/plain;charset=UTF-8\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        per_connection[i % connections].push(request.into_bytes());
    }
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(per_connection.len());
    for requests in per_connection {
        let address = address.clone();
        let progress = progress.clone();
        tasks.push(tokio::spawn(async move {
            send_all(&address, requests, &progress).await
        }));
    }
    for task in tasks {
        task.await??;
    }
    let answered = started.elapsed();
    // Stopping writes what the server still holds.
    let _ = stop.send(());
    server.await??;
    let written = started.elapsed();
    progress.finish_and_clear();
    let kept = count(&store, "SELECT COUNT(*) FROM page_views").await;
    let events = count(
        &store,
        "SELECT COUNT(*) FROM events WHERE type = 'page_viewed'",
    )
    .await;
    anyhow::ensure!(
        (kept + events) as usize == args.views,
        "{engine:?}: {kept} views kept and {events} events of {} posted",
        args.views
    );
    println!(
        "{engine:?} collect: {} views answered in {:.2}s, written by {:.2}s ({kept} kept apart, {events} on known visitors' leads)",
        args.views,
        answered.as_secs_f64(),
        written.as_secs_f64()
    );
    store.close().await;
    db.cleanup().await;
    Ok((
        args.views as f64 / answered.as_secs_f64(),
        args.views as f64 / written.as_secs_f64(),
    ))
}

/// The same number of `page_viewed` events through the events API, in batches of 1,000.
async fn events_api(engine: Engine, args: &CollectArgs) -> anyhow::Result<f64> {
    let db = TestDatabase::new(engine).await;
    let store = db.store().await;
    let mut demo = leadgate_demo::generate(7, args.leads, Utc::now());
    for lead in &mut demo {
        lead.events.clear();
    }
    let leads = leadgate::cli::demo::load(&store, &demo, |_| {}).await?;
    let events = leadgate_demo::page_views(11, &leads, args.views, Utc::now());
    let batches: Vec<Vec<(leadgate_core::id::LeadId, EventDraft)>> =
        events.chunks(1000).map(<[_]>::to_vec).collect();
    let progress = ProgressBar::hidden();
    let elapsed: Duration = crate::ingest::http(&store, batches, 4, &progress).await?;
    println!(
        "{engine:?} events API: {} events in {:.2}s",
        args.views,
        elapsed.as_secs_f64()
    );
    store.close().await;
    db.cleanup().await;
    Ok(args.views as f64 / elapsed.as_secs_f64())
}

/// Sends requests one after another on one keep-alive connection, each answered 204.
async fn send_all(
    address: &str,
    requests: Vec<Vec<u8>>,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let mut buffer = Vec::with_capacity(1024);
    for request in requests {
        stream.write_all(&request).await?;
        buffer.clear();
        // The answer's head; a 204 has no body.
        loop {
            let mut chunk = [0u8; 1024];
            let n = stream.read(&mut chunk).await?;
            anyhow::ensure!(n > 0, "the server closed the connection");
            buffer.extend_from_slice(&chunk[..n]);
            if buffer.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        anyhow::ensure!(
            buffer.starts_with(b"HTTP/1.1 204"),
            "refused: {}",
            String::from_utf8_lossy(&buffer[..buffer.len().min(200)])
        );
        progress.inc(1);
    }
    Ok(())
}
