//! The command line: one enum of subcommands, each a small function.

mod apikey;
mod dedupe;
pub mod demo;
mod email;
mod followup;
mod form;
mod gdpr;
pub mod import;
pub mod mail;
mod model;
mod policy;
mod routing;
mod serve;
pub mod settings;
mod spend;
mod tracker;
mod user;
mod webhook;

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "leadgate",
    version,
    about = "Self-hosted lead qualification engine"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// A settings file (TOML) whose keys are flag names, e.g. `database_url = "..."`: each
    /// fills its flag where neither the flag nor its environment variable is given.
    #[arg(long, global = true, env = "LEADGATE_CONFIG", value_name = "FILE")]
    #[allow(dead_code)] // Read by `settings::load` before the command line is parsed.
    config: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API on the store.
    Serve(serve::ServeArgs),
    /// Make a fresh demo store full of realistic leads, print a demo API key, and serve it.
    Demo(demo::DemoArgs),
    /// Make, list and revoke API keys.
    Apikey(apikey::ApikeyArgs),
    /// Dashboard users: create, passwd, disable, enable, list.
    User(user::UserArgs),
    /// The qualification policy: init, check, apply, show, versions, diff.
    Policy(policy::PolicyArgs),
    /// Web-to-lead forms: put (create or replace), list, embed.
    Form(form::FormArgs),
    /// The website tracker: add (for a site), list, snippet.
    Tracker(tracker::TrackerArgs),
    /// What the sources cost: import (an ad platform's cost file), put, list, report, currency.
    Spend(spend::SpendArgs),
    /// Find duplicate people over the whole store: merge the sure ones, suggest the likely.
    Dedupe(dedupe::DedupeArgs),
    /// Review merges: list, apply, reject, undo.
    Merges(dedupe::MergesArgs),
    /// Sales teams and their business hours: put, list.
    Team(routing::TeamArgs),
    /// Sales reps: put (team, weight, daily cap, away), list.
    Rep(routing::RepArgs),
    /// Route every MQL that has no owner by the policy's routing rules.
    Route(routing::RouteArgs),
    /// Give a lead to another rep, with a reason.
    Assign(routing::AssignArgs),
    /// Service levels: compliance report, running clocks.
    Sla(routing::SlaArgs),
    /// Email templates and the outbox: template, send, list, resend.
    Email(email::EmailArgs),
    /// Webhook subscriptions: add, list, pause, resume, deliveries, replay.
    Webhook(webhook::WebhookArgs),
    /// Follow-up tasks: add, list, done, cancel.
    Task(followup::TaskArgs),
    /// Log a call, email, meeting or note on a lead (with an optional next step).
    Log(followup::LogArgs),
    /// The durable job queue: list, show, retry dead jobs.
    Jobs(followup::JobsArgs),
    /// A person's data: export as JSON, or erase everywhere (GDPR).
    Gdpr(gdpr::GdprArgs),
    /// Import leads from a CSV file (mapping given or guessed; idempotent and resumable).
    Import(import::ImportArgs),
    /// Write leads as CSV, safe to open in a spreadsheet.
    Export(import::ExportArgs),
    /// Rescore every lead of a product under the policy in force, and predict its open
    /// leads with the conversion model when it has one.
    Score(policy::ScoreArgs),
    /// Train the conversion model on the store's won and lost leads and make it active.
    Train(model::TrainArgs),
    /// Measure the conversion model honestly on leads it never saw (text, JSON, HTML report).
    Evaluate(model::EvaluateArgs),
    /// A lead's conversion probability and the features that pushed it up and down.
    Explain(model::ExplainArgs),
    /// Conversion models: list, show, activate, export, import.
    Model(model::ModelArgs),
    /// Inbound email: ingest one message from standard input (for a mail server's pipe).
    Mail(mail::MailArgs),
}

/// Where the store is: a SQLite file by default, PostgreSQL for a postgres:// URL.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// `postgres://...` for PostgreSQL; a file path or `sqlite://PATH` for SQLite.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "./leadgate-data/leadgate.db"
    )]
    pub database_url: String,
}

impl StoreArgs {
    pub async fn open(&self) -> anyhow::Result<leadgate_store::Store> {
        leadgate_store::Store::connect(&self.database_url)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot open the store at {}: {e}",
                    redact(&self.database_url)
                )
            })
    }
}

/// Where to listen.
#[derive(Debug, Clone, Args)]
pub struct BindArgs {
    #[arg(long, env = "LEADGATE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
}

/// Every bad field, one per line, under the file that held them (if any).
pub(crate) fn field_errors(
    file: Option<&std::path::Path>,
    errors: leadgate_core::FieldErrors,
) -> anyhow::Error {
    let lines: Vec<String> = errors
        .0
        .iter()
        .map(|e| {
            format!(
                "{}{}: {}",
                if file.is_some() { "  " } else { "" },
                e.field,
                e.reason
            )
        })
        .collect();
    match file {
        Some(file) => anyhow::anyhow!("{}:\n{}", file.display(), lines.join("\n")),
        None => anyhow::anyhow!("{}", lines.join("\n")),
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Apikey(args) => apikey::run(args).await,
        Command::User(args) => user::run(args).await,
        Command::Policy(args) => policy::run(args).await,
        Command::Form(args) => form::run(args).await,
        Command::Tracker(args) => tracker::run(args).await,
        Command::Spend(args) => spend::run(args).await,
        Command::Gdpr(args) => gdpr::run(args).await,
        Command::Team(args) => routing::team(args).await,
        Command::Rep(args) => routing::rep(args).await,
        Command::Assign(args) => routing::assign(args).await,
        Command::Route(args) => routing::route(args).await,
        Command::Sla(args) => routing::sla(args).await,
        Command::Webhook(args) => webhook::run(args).await,
        Command::Email(args) => email::run(args).await,
        Command::Task(args) => followup::task(args).await,
        Command::Log(args) => followup::log(args).await,
        Command::Jobs(args) => followup::jobs(args).await,
        Command::Dedupe(args) => dedupe::run(args).await,
        Command::Merges(args) => dedupe::merges(args).await,
        Command::Import(args) => import::run(args).await,
        Command::Export(args) => import::export(args).await,
        Command::Score(args) => policy::score(args).await,
        Command::Train(args) => model::train(args).await,
        Command::Evaluate(args) => model::evaluate(args).await,
        Command::Explain(args) => model::explain(args).await,
        Command::Model(args) => model::model(args).await,
        Command::Mail(args) => mail::run(args).await,
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            redact("postgres://u:secret@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(redact("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(
            redact("./leadgate-data/leadgate.db"),
            "./leadgate-data/leadgate.db"
        );
    }

    #[test]
    fn the_cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
