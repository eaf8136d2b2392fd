//! `leadgate policy init|check|apply|show|versions|diff` and `leadgate score`: the shared
//! definition of a qualified lead, from the terminal.

use super::StoreArgs;
use anyhow::{bail, Context};
use chrono::Utc;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use leadgate_core::policy::{Policy, PolicyErrors};
use leadgate_store::{RescoreRun, Store, StoreError};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Write the starter policy to FILE, to edit.
    Init {
        #[arg(default_value = "policy.toml")]
        file: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Check FILE without applying it.
    Check { file: PathBuf },
    /// Store FILE as the next version of its product's policy and rescore that product's leads.
    Apply {
        file: PathBuf,
        /// Why the definition changes (kept with the version).
        #[arg(long, short)]
        message: String,
        /// Who changes it.
        #[arg(long, env = "USER", default_value = "cli")]
        author: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print the policy in force (or a version).
    Show {
        #[arg(long, default_value = "default")]
        product: String,
        #[arg(long)]
        version: Option<i64>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List stored versions.
    Versions {
        #[arg(long)]
        product: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// What the automation rules of FILE (or of the policy in force) would have done on the
    /// events of the last days; changes nothing.
    AutomationDryRun {
        file: Option<PathBuf>,
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[arg(long, default_value = "default")]
        product: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Replay the stored history under FILE and under the policy in force, side by side.
    Backtest {
        file: PathBuf,
        /// Sales capacity in MQLs per week: suggest the threshold that fits it.
        #[arg(long)]
        capacity: Option<f64>,
        /// table (for people) or json.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Fit the rules' points to the closed leads' outcomes and write the draft policy the
    /// data proposes to FILE (backtest it, then apply it yourself); prints each rule's points
    /// now and proposed, with the interval and the leads behind them.
    Suggest {
        /// Where the draft goes.
        file: PathBuf,
        #[arg(long, default_value = "default")]
        product: String,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show what changed between two versions.
    Diff {
        from: i64,
        to: i64,
        #[arg(long, default_value = "default")]
        product: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `leadgate score`: rescore every lead of a product now.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    #[arg(long, default_value = "default")]
    product: String,
    #[command(flatten)]
    store: StoreArgs,
}

fn read(file: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

/// "policy.toml:12: fit rule 'x': unknown field 'y'", one line per mistake.
fn located(file: &Path, errors: &PolicyErrors) -> String {
    errors
        .0
        .iter()
        .map(|e| format!("{}:{}: {}", file.display(), e.line, e.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Drives a rescoring pass to its end with a progress bar (a running server may score some
/// of its pages meanwhile).
async fn follow(store: &Store, run: &RescoreRun) -> anyhow::Result<()> {
    let bar = ProgressBar::new(u64::try_from(run.total).unwrap_or(0)).with_style(
        ProgressStyle::with_template("rescoring {bar:40} {pos}/{len} leads ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let summary =
        leadgate_app::rescore::finish(store, run, Utc::now(), |n| bar.inc(n as u64)).await?;
    bar.finish_and_clear();
    println!(
        "rescored {} '{}' leads in {:.1}s: {} became MQL, {} left MQL",
        summary.scored,
        run.product,
        started.elapsed().as_secs_f64(),
        summary.became_mql,
        summary.left_mql
    );
    Ok(())
}

pub async fn run(args: PolicyArgs) -> anyhow::Result<()> {
    match args.action {
        Action::Init { file, force } => {
            if file.exists() && !force {
                bail!("{} exists; pass --force to replace it", file.display());
            }
            std::fs::write(&file, Policy::STARTER)
                .with_context(|| format!("cannot write {}", file.display()))?;
            println!("wrote the starter policy to {}; edit it, then `leadgate policy apply {} -m \"why\"`", file.display(), file.display());
        }
        Action::Check { file } => {
            let policy = Policy::parse(&read(&file)?)
                .map_err(|e| anyhow::anyhow!("{}", located(&file, &e)))?;
            println!(
                "{}: policy '{}' for product '{}' is valid: {} fit rules, {} behaviour rules, MQL at {} points",
                file.display(),
                policy.name,
                policy.product,
                policy.fit.len(),
                policy.behaviour.len(),
                policy.mql.min_score
            );
        }
        Action::Apply {
            file,
            message,
            author,
            store,
        } => {
            let document = read(&file)?;
            let store = store.open().await?;
            let stored = match store.apply_policy(&document, &author, &message).await {
                Ok(stored) => stored,
                Err(StoreError::Policy(errors)) => bail!(
                    "{}\nThe policy in force is unchanged.",
                    located(&file, &errors)
                ),
                Err(e) => return Err(e.into()),
            };
            println!(
                "applied '{}' as version {} of product '{}'",
                stored.name, stored.version, stored.product
            );
            // Applying started the pass; a running server may already be at it.
            let run = store
                .latest_rescore(&stored.product)
                .await?
                .context("the applied policy's rescoring pass is missing")?;
            follow(&store, &run).await?;
            store.close().await;
        }
        Action::Show {
            product,
            version,
            store,
        } => {
            let store = store.open().await?;
            let document = match version {
                Some(v) => store.policy_version(&product, v).await?.document,
                None => match store
                    .policy_versions(Some(&product))
                    .await?
                    .into_iter()
                    .next()
                {
                    Some(latest) => latest.document,
                    None => {
                        eprintln!("no policy applied for '{product}' yet; the starter policy (version 0) is in force:");
                        Policy::STARTER.to_owned()
                    }
                },
            };
            print!("{document}");
            store.close().await;
        }
        Action::Versions { product, store } => {
            let store = store.open().await?;
            let versions = store.policy_versions(product.as_deref()).await?;
            if versions.is_empty() {
                println!("no policy applied yet; the starter policy (version 0) is in force");
            }
            for v in versions {
                println!(
                    "{:<12} v{:<4} {}  {:<16} {}  ({})",
                    v.product,
                    v.version,
                    v.created_at().format("%Y-%m-%d %H:%M"),
                    v.author,
                    v.message,
                    v.name
                );
            }
            store.close().await;
        }
        Action::AutomationDryRun {
            file,
            days,
            product,
            store,
        } => {
            if !(1..=365).contains(&days) {
                anyhow::bail!("--days must be from 1 to 365");
            }
            let store = store.open().await?;
            let policy = match &file {
                Some(file) => std::sync::Arc::new(
                    Policy::parse(&read(file)?)
                        .map_err(|e| anyhow::anyhow!("{}", located(file, &e)))?,
                ),
                None => store.active_policy(&product).await?.policy,
            };
            let since = Utc::now() - chrono::Duration::days(days);
            let dry = leadgate_app::automation::dry_run(&store, &policy, since, 100_000).await?;
            println!(
                "automation dry run over the last {days} days: {} events scanned",
                dry.events_scanned
            );
            for (rule, n) in &dry.fired {
                println!("  {n:>7}  {rule}");
            }
            for hit in dry.hits.iter().take(20) {
                println!(
                    "  {}  lead {:<7} {}: {}",
                    hit.occurred_at.0.format("%Y-%m-%d %H:%M"),
                    hit.lead_id,
                    hit.rule,
                    hit.actions.join("; ")
                );
            }
            store.close().await;
        }
        Action::Backtest {
            file,
            capacity,
            format,
            store,
        } => {
            let candidate = Policy::parse(&read(&file)?)
                .map_err(|e| anyhow::anyhow!("{}", located(&file, &e)))?;
            let store = store.open().await?;
            let total = store.count_leads().await? as u64;
            let bar = ProgressBar::new(total).with_style(
                ProgressStyle::with_template("replaying {bar:40} {pos}/{len} leads ({per_sec})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let started = std::time::Instant::now();
            let report =
                leadgate_app::rescore::backtest(&store, &candidate, capacity, Utc::now(), |n| {
                    bar.inc(n as u64)
                })
                .await?;
            bar.finish_and_clear();
            if format == "json" {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_backtest(&report, started.elapsed());
            }
            store.close().await;
        }
        Action::Suggest {
            file,
            product,
            force,
            store,
        } => {
            if file.exists() && !force {
                anyhow::bail!("{} exists; --force replaces it", file.display());
            }
            let store = store.open().await?;
            let suggestion = leadgate_app::proposal::suggest(&store, &product, Utc::now()).await?;
            store.close().await;
            std::fs::write(&file, &suggestion.draft)
                .with_context(|| format!("cannot write {}", file.display()))?;
            println!(
                "from {} closed leads ({} won) under version {} of {product}:",
                suggestion.closed, suggestion.won, suggestion.version
            );
            println!(
                "{:<32} {:>8} {:>9} {:>17} {:>7}",
                "rule", "now", "proposed", "95% interval", "leads"
            );
            for r in &suggestion.rules {
                println!(
                    "{:<32} {:>8.1} {:>9.1} {:>8.1} to {:>5.1} {:>7}{}",
                    r.name,
                    r.points_now,
                    r.proposed,
                    r.low,
                    r.high,
                    r.leads,
                    if r.useless {
                        "  useless: left out of the draft"
                    } else {
                        ""
                    }
                );
            }
            for name in &suggestion.left_out {
                println!("{name:<32} not fitted: it reads a field filled in after the outcome");
            }
            println!(
                "draft written to {}; try it: leadgate policy backtest {}",
                file.display(),
                file.display()
            );
        }
        Action::Diff {
            from,
            to,
            product,
            store,
        } => {
            let store = store.open().await?;
            let document = |v: i64| {
                let store = store.clone();
                let product = product.clone();
                async move {
                    if v == 0 {
                        Ok(Policy::STARTER.to_owned())
                    } else {
                        store.policy_version(&product, v).await.map(|p| p.document)
                    }
                }
            };
            let (old, new) = (document(from).await?, document(to).await?);
            let diff = similar::TextDiff::from_lines(&old, &new);
            print!(
                "{}",
                diff.unified_diff()
                    .context_radius(3)
                    .header(&format!("{product} v{from}"), &format!("{product} v{to}"))
            );
            store.close().await;
        }
    }
    Ok(())
}

pub async fn score(args: ScoreArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let run = store.start_rescore(&args.product, Utc::now()).await?;
    follow(&store, &run).await?;
    super::model::predict_all(&store, &args.product).await?;
    store.close().await;
    Ok(())
}

fn pct(rate: Option<f64>) -> String {
    rate.map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| "-".into())
}

fn print_backtest(report: &leadgate_core::backtest::BacktestReport, took: std::time::Duration) {
    println!(
        "{} leads replayed in {:.1}s ({} closed, {} won, over {:.1} weeks)\n",
        report.leads,
        took.as_secs_f64(),
        report.closed,
        report.won,
        report.weeks
    );
    println!("{:<22} {:>12} {:>12}", "", "in force", "candidate");
    let rows = [
        (
            "MQLs",
            report.current.mqls.to_string(),
            report.candidate.mqls.to_string(),
        ),
        (
            "MQL -> SQL",
            pct(report.current.mql_to_sql_rate),
            pct(report.candidate.mql_to_sql_rate),
        ),
        (
            "MQL -> won",
            pct(report.current.mql_to_won_rate),
            pct(report.candidate.mql_to_won_rate),
        ),
        (
            "precision (won)",
            pct(report.current.precision),
            pct(report.candidate.precision),
        ),
        (
            "recall (won)",
            pct(report.current.recall),
            pct(report.candidate.recall),
        ),
        ("F1", pct(report.current.f1), pct(report.candidate.f1)),
    ];
    for (name, a, b) in rows {
        println!("{name:<22} {a:>12} {b:>12}");
    }
    println!(
        "\n{} leads would become MQL, {} would stop being MQL\n",
        report.became_mql, report.stopped_mql
    );
    println!(
        "{:<18} {:>7} {:>10} {:>10} {:>12} {:>12}",
        "channel", "leads", "MQLs now", "MQLs new", "won now", "won new"
    );
    for row in report.by_channel.iter().chain(&report.by_source_class) {
        println!(
            "{:<18} {:>7} {:>10} {:>10} {:>12} {:>12}",
            row.source,
            row.leads,
            row.current.mqls,
            row.candidate.mqls,
            pct(row.current.mql_to_won_rate),
            pct(row.candidate.mql_to_won_rate)
        );
    }
    if let Some(best) = &report.best_f1 {
        println!(
            "\nbest F1: min_score = {} gives {} MQLs ({:.1}/week), precision {}, recall {}, F1 {}",
            best.min_score,
            best.mqls,
            best.mqls_per_week,
            pct(best.precision),
            pct(best.recall),
            pct(best.f1)
        );
    }
    if let Some(fit) = &report.for_capacity {
        println!(
            "for your capacity: min_score = {} gives {:.1} MQLs/week (precision {}, recall {})",
            fit.min_score,
            fit.mqls_per_week,
            pct(fit.precision),
            pct(fit.recall)
        );
    }
}
