//! `leadgate-bench`: performance measured side by side with a peer in one run
//! (BENCHMARKS.md). Its own binary, so the production one does not ship the benchmarks.

mod collect;
mod dedupe;
mod disk;
mod followup;
mod import;
mod ingest;
mod memory;
mod model;
mod pages;
mod scoring;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "leadgate-bench",
    version,
    about = "Leadgate's benchmarks, each beside its peer in one run"
)]
struct BenchArgs {
    #[command(subcommand)]
    what: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Events/s through `POST /api/v1/events` against direct inserts into the same engine.
    Ingest(ingest::IngestArgs),
    /// Page views/s through the site tracker's collect endpoint, beside the events API.
    Collect(collect::CollectArgs),
    /// Scoring a million leads in memory, against the same scoring in pandas; rescoring and
    /// backtesting a store of that size.
    Scoring(scoring::ScoringArgs),
    /// Importing a generated CSV file (validation, normalisation, matching) against
    /// `psql \copy` loading the same file into a plain table.
    Import(import::ImportBenchArgs),
    /// Matching a million generated people with known duplicates: time, precision, recall.
    Dedupe(dedupe::DedupeBenchArgs),
    /// Task reminders run by two workers on PostgreSQL, against a bare SKIP LOCKED queue.
    Jobs(followup::JobsBenchArgs),
    /// Deadlines and standings of a million SLA clocks in business hours.
    Sla(followup::SlaBenchArgs),
    /// Routing a store's waiting MQLs to a team's reps.
    Routing(followup::RoutingBenchArgs),
    /// The conversion model trained and scored on a CSV file (for bench/model_vs_lightgbm.sh).
    Model(model::ModelBenchArgs),
    /// The dashboard's pages under load (wrk) on a million leads with twenty events each.
    Pages(pages::PagesBenchArgs),
}

fn main() -> anyhow::Result<()> {
    let args = BenchArgs::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        Bench::Ingest(args) => ingest::run(args).await,
        Bench::Collect(args) => collect::run(args).await,
        Bench::Scoring(args) => scoring::run(args).await,
        Bench::Import(args) => import::run(args).await,
        Bench::Dedupe(args) => dedupe::run(args).await,
        Bench::Jobs(args) => followup::jobs(args).await,
        Bench::Sla(args) => followup::sla(args).await,
        Bench::Routing(args) => followup::routing(args).await,
        Bench::Model(args) => model::run(args).await,
        Bench::Pages(args) => pages::run(args).await,
    }
}
