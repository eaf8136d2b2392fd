//! `leadgate-bench ingest`: event ingestion over HTTP against the same rows inserted straight
//! into the same engine, side by side in one run, as events/s and a ratio.

use anyhow::Context;
use chrono::Utc;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use leadgate_core::event::LeadRef;
use leadgate_core::EventDraft;
use leadgate_store::testing::TestDatabase;
use leadgate_store::{Engine, Store};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    Sqlite,
    Postgres,
    Both,
}

impl EngineChoice {
    pub fn engines(self) -> Vec<Engine> {
        match self {
            EngineChoice::Sqlite => vec![Engine::Sqlite],
            EngineChoice::Postgres => vec![Engine::Postgres],
            EngineChoice::Both => vec![Engine::Sqlite, Engine::Postgres],
        }
    }
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Which engine(s) to measure. PostgreSQL uses a fresh database on the server named by
    /// LEADGATE_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test).
    #[arg(long, value_enum, default_value = "both")]
    engine: EngineChoice,
    /// Events per side.
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Events per batch (at most 1,000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=1000))]
    batch: u16,
    /// Batches in flight at once, on both sides.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Leads the events are spread over.
    #[arg(long, default_value_t = 1000)]
    leads: usize,
}

struct Measured {
    engine: Engine,
    direct: f64,
    http: f64,
}

pub async fn run(args: IngestArgs) -> anyhow::Result<()> {
    let engines = args.engine.engines();
    println!(
        "leadgate-bench ingest: {} events per side, batches of {}, {} in flight, over {} leads",
        args.events, args.batch, args.concurrency, args.leads
    );
    let mut results = Vec::new();
    for engine in engines {
        let direct = measure(engine, &args, Side::Direct).await?;
        let http = measure(engine, &args, Side::Http).await?;
        results.push(Measured {
            engine,
            direct,
            http,
        });
    }
    println!();
    println!("| engine | direct insert (events/s) | HTTP POST /api/v1/events (events/s) | HTTP / direct |");
    println!("|---|---:|---:|---:|");
    for r in &results {
        println!(
            "| {:?} | {:.0} | {:.0} | {:.0}% |",
            r.engine,
            r.direct,
            r.http,
            100.0 * r.http / r.direct
        );
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Direct,
    Http,
}

/// One side on a fresh database: seeds leads, then times the ingestion of all events.
async fn measure(engine: Engine, args: &IngestArgs, side: Side) -> anyhow::Result<f64> {
    let db = TestDatabase::new(engine).await;
    let store = db.store().await;
    let demo = leadgate_demo::generate(7, args.leads, Utc::now());
    let mut plain = demo.clone();
    for lead in &mut plain {
        lead.events.clear();
    }
    let lead_ids = leadgate::cli::demo::load(&store, &plain, |_| {}).await?;
    let events = leadgate_demo::page_views(11, &lead_ids, args.events, Utc::now());
    let batches: Vec<Vec<(leadgate_core::id::LeadId, EventDraft)>> = events
        .chunks(args.batch as usize)
        .map(<[_]>::to_vec)
        .collect();
    let progress = ProgressBar::new(args.events as u64).with_style(
        ProgressStyle::with_template("{msg:28} {bar:30} {pos}/{len} ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_message(format!(
        "{engine:?} {}",
        if side == Side::Direct {
            "direct"
        } else {
            "HTTP"
        }
    ));
    let elapsed = match side {
        Side::Direct => direct(&store, batches, args.concurrency, &progress).await?,
        Side::Http => http(&store, batches, args.concurrency, &progress).await?,
    };
    progress.finish_and_clear();
    let stored = store.count_events().await? as usize;
    anyhow::ensure!(
        stored >= args.events,
        "{engine:?} {side:?}: only {stored} events stored of {}",
        args.events
    );
    let rate = args.events as f64 / elapsed.as_secs_f64();
    println!(
        "{engine:?} {side:?}: {} events in {:.2}s = {rate:.0} events/s",
        args.events,
        elapsed.as_secs_f64()
    );
    store.close().await;
    db.cleanup().await;
    Ok(rate)
}

async fn direct(
    store: &Store,
    batches: Vec<Vec<(leadgate_core::id::LeadId, EventDraft)>>,
    concurrency: usize,
    progress: &ProgressBar,
) -> anyhow::Result<Duration> {
    let permits = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for batch in batches {
        let permit = permits.clone().acquire_owned().await?;
        let store = store.clone();
        let progress = progress.clone();
        tasks.push(tokio::spawn(async move {
            let n = batch.len();
            let items = batch
                .into_iter()
                .map(|(id, e)| Ok((LeadRef::Id(id), e)))
                .collect();
            let result = store.append_events(items, "bench").await;
            progress.inc(n as u64);
            drop(permit);
            result
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

pub(crate) async fn http(
    store: &Store,
    batches: Vec<Vec<(leadgate_core::id::LeadId, EventDraft)>>,
    concurrency: usize,
    progress: &ProgressBar,
) -> anyhow::Result<Duration> {
    let key = store
        .create_api_key("bench", leadgate_core::access::Role::Admin, None)
        .await?
        .secret;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/events", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(leadgate::server::serve(
        store.clone(),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    // Bodies are made before the clock starts: the client's work is not the server's.
    let bodies: Vec<(usize, Vec<u8>)> = batches
        .iter()
        .map(|batch| {
            let events: Vec<_> = batch
                .iter()
                .map(|(id, e)| {
                    json!({"lead_id": id, "type": e.event_type, "occurred_at": e.occurred_at,
                           "payload": e.payload, "idempotency_key": e.idempotency_key})
                })
                .collect();
            serde_json::to_vec(&json!({ "events": events })).map(|body| (batch.len(), body))
        })
        .collect::<Result<_, _>>()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let permits = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (n, body) in bodies {
        let permit = permits.clone().acquire_owned().await?;
        let request = client
            .post(&url)
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body);
        let progress = progress.clone();
        tasks.push(tokio::spawn(async move {
            let response = request.send().await.context("POST /api/v1/events")?;
            let status = response.status();
            let answer: serde_json::Value = response.json().await?;
            drop(permit);
            anyhow::ensure!(
                status.is_success() && answer["accepted"] == n,
                "batch refused: {status} {answer}"
            );
            progress.inc(n as u64);
            Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(());
    server.await??;
    Ok(elapsed)
}
