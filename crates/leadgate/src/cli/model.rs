//! `leadgate train | evaluate | explain | model`: the conversion model from the command line.

use super::StoreArgs;
use anyhow::Context;
use chrono::Utc;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use leadgate_app::Models;
use leadgate_ml::metrics::Metrics;
use leadgate_ml::model::{Evaluation, Settings};
use leadgate_ml::report::{interval, opt};
use leadgate_store::{ModelRecord, Store};
use std::path::PathBuf;

/// Settings shared by `train` and `evaluate`.
#[derive(Debug, Args)]
pub struct TrainingArgs {
    #[arg(long, default_value = "default")]
    product: String,
    /// Seed for the split and the trees: the same seed and data give the same model.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The most trees to grow (boosting stops earlier when held-back leads stop improving).
    #[arg(long, default_value_t = 400)]
    max_trees: usize,
    #[arg(long, default_value_t = 2)]
    threads: usize,
    #[command(flatten)]
    store: StoreArgs,
}

impl TrainingArgs {
    fn settings(&self) -> Settings {
        Settings {
            seed: self.seed,
            max_trees: self.max_trees,
            threads: self.threads,
            ..Settings::default()
        }
    }
}

/// `leadgate train`: learn from the store's won and lost leads and make the model active.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    training: TrainingArgs,
    /// Make the new model the active one even when it does worse than the model in use on
    /// the same held-out leads (it is otherwise kept as a challenger beside it).
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// `leadgate evaluate`: train on older (or a stratified 70%) closed leads, measure on the rest.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    training: TrainingArgs,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Also write the report as an HTML page with charts.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the test leads' keys (external id, else lead id), one per line, so other tools
    /// can be measured on the same split.
    #[arg(long)]
    test_keys: Option<PathBuf>,
}

/// `leadgate explain LEAD`: the model's probability for a lead and why.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    lead: leadgate_core::id::LeadId,
    /// How many reasons to show.
    #[arg(long, default_value_t = 8)]
    top: usize,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    action: ModelAction,
}

#[derive(Debug, Subcommand)]
enum ModelAction {
    /// A product's models, newest first, with their test metrics.
    List {
        #[arg(long, default_value = "default")]
        product: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// One model's evaluation as JSON.
    Show {
        id: i64,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Make an earlier model the active one again.
    Activate {
        id: i64,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write a model file (JSON) to FILE.
    Export {
        id: i64,
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Load a model file and make it active (refused if it does not load).
    Import {
        file: PathBuf,
        #[arg(long, default_value = "default")]
        product: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn reading_bar(store_leads: i64) -> ProgressBar {
    ProgressBar::new(store_leads.max(0) as u64).with_style(
        ProgressStyle::with_template("reading {bar:40} {pos}/{len} leads ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}

fn metric_rows(model: &Metrics, baseline: &Metrics) -> String {
    let rows = [
        ("ROC-AUC", opt(model.roc_auc), opt(baseline.roc_auc)),
        (
            "  95% interval",
            interval(model.roc_auc_interval),
            interval(baseline.roc_auc_interval),
        ),
        ("PR-AUC", opt(model.pr_auc), opt(baseline.pr_auc)),
        (
            "Brier",
            format!("{:.4}", model.brier),
            format!("{:.4}", baseline.brier),
        ),
        (
            "log-loss",
            format!("{:.4}", model.log_loss),
            format!("{:.4}", baseline.log_loss),
        ),
        (
            "calibration error",
            format!("{:.4}", model.ece),
            format!("{:.4}", baseline.ece),
        ),
        (
            "  by chance, up to",
            format!("{:.4}", model.ece_by_chance),
            format!("{:.4}", baseline.ece_by_chance),
        ),
        (
            "lift, top decile",
            format!("{:.2}", model.lift_top_decile),
            format!("{:.2}", baseline.lift_top_decile),
        ),
        (
            "most leads at one probability",
            format!("{:.1}%", model.largest_tie_share * 100.0),
            format!("{:.1}%", baseline.largest_tie_share * 100.0),
        ),
    ];
    let mut out = format!("  {:<20} {:>10} {:>10}\n", "", "trees", "logistic");
    for (name, a, b) in rows {
        out.push_str(&format!("  {name:<20} {a:>10} {b:>10}\n"));
    }
    out
}

fn print_evaluation(e: &Evaluation) {
    println!(
        "{:?} split: trained on {} closed leads, tested on {} ({} won); {} trees in {:.2} s, scored in {:.3} s",
        e.split, e.train_leads, e.test_leads, e.model.won, e.trees, e.train_seconds, e.score_seconds
    );
    for warning in &e.warnings {
        println!("  warning: {warning}");
    }
    print!("{}", metric_rows(&e.model, &e.baseline));
    println!("  deciles (best first): won rate / lift / cumulative gain");
    for d in &e.model.deciles {
        println!(
            "    {:>2}: {:>5.1}%  {:>4.2}  {:>5.1}%",
            d.decile,
            d.won_rate * 100.0,
            d.lift,
            d.cumulative_gain * 100.0
        );
    }
    println!("  calibration: predicted -> observed (leads)");
    for b in &e.model.calibration {
        println!(
            "    {:>3.0}-{:>3.0}%: {:>5.1}% -> {:>5.1}% ({})",
            b.from * 100.0,
            b.to * 100.0,
            b.mean_predicted * 100.0,
            b.observed_rate * 100.0,
            b.leads
        );
    }
    println!("  features used: {}", e.features.join(", "));
    for d in &e.dropped {
        println!("  left out {}: {}", d.name, d.reason);
    }
}

pub async fn train(args: TrainArgs) -> anyhow::Result<()> {
    let store = args.training.store.open().await?;
    let bar = reading_bar(store.count_leads().await?);
    let record = Models::new(store.clone())
        .train(
            &args.training.product,
            &args.training.settings(),
            "cli",
            args.force,
            |n| bar.inc(n as u64),
        )
        .await;
    bar.finish_and_clear();
    let record = record?;
    if let Some(why) = record.evaluation["contest"]["result"]["why"].as_str() {
        println!(
            "against model {}: {why}",
            record.evaluation["contest"]["champion"]
        );
    }
    if record.status == leadgate_core::conversion_model::ModelStatus::Active {
        println!(
            "model {} is now active for '{}': trained on {} closed leads",
            record.id, record.product, record.trained_on
        );
    } else {
        println!(
            "model {} is kept as a challenger for '{}'; the model in use stays (`leadgate model activate {}` or `leadgate train --force` to use it anyway)",
            record.id, record.product, record.id
        );
    }
    if let Ok(e) = serde_json::from_value::<Evaluation>(record.evaluation.clone()) {
        print_evaluation(&e);
    }
    predict_all(&store, &args.training.product).await?;
    store.close().await;
    Ok(())
}

/// Predicts every open lead with the active model; says so when there is none.
pub async fn predict_all(store: &Store, product: &str) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    match Models::new(store.clone())
        .predict_open(product, Utc::now(), |_| {})
        .await?
    {
        Some(n) => println!(
            "predicted {n} open '{product}' leads in {:.1}s (GET /api/v1/leads?sort=-priority lists them by priority)",
            started.elapsed().as_secs_f64()
        ),
        None => println!(
            "no conversion model for '{product}' yet: leads keep their rule scores (`leadgate train` makes one)"
        ),
    }
    Ok(())
}

pub async fn evaluate(args: EvaluateArgs) -> anyhow::Result<()> {
    let store = args.training.store.open().await?;
    let bar = reading_bar(store.count_leads().await?);
    let evaluation = Models::new(store.clone())
        .evaluate(&args.training.product, &args.training.settings(), |n| {
            bar.inc(n as u64)
        })
        .await;
    bar.finish_and_clear();
    let evaluation = evaluation?;
    if let Some(path) = &args.test_keys {
        std::fs::write(path, evaluation.test_keys.join("\n") + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.report {
        let title = format!("Conversion model evaluation: {}", args.training.product);
        std::fs::write(path, leadgate_ml::report::html(&evaluation, &title))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    match args.format {
        Format::Json => {
            let mut value = serde_json::to_value(&evaluation)?;
            if let Some(map) = value.as_object_mut() {
                map.remove("test_keys");
            }
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        Format::Text => {
            print_evaluation(&evaluation);
            if let Some(path) = &args.report {
                println!("report written to {}", path.display());
            }
        }
    }
    store.close().await;
    Ok(())
}

/// A value with at least three significant figures and no more decimals than that needs:
/// a priority of 0.34 (a 34% lead without deal values) is not "0", nor 12,345.678 noise.
fn three_figures(value: f64) -> String {
    let digits = if value == 0.0 || !value.is_finite() {
        0
    } else {
        (2 - value.abs().log10().floor() as i32).clamp(0, 6) as usize
    };
    format!("{value:.digits$}")
}

pub async fn explain(args: ExplainArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let lead = store.lead(args.lead).await?;
    match Models::new(store.clone())
        .prediction(args.lead, Utc::now())
        .await?
    {
        None => println!(
            "lead {} has no prediction: it is closed, or '{}' has no conversion model (`leadgate train`)",
            args.lead,
            lead.lead.product_line()
        ),
        Some(p) => {
            println!(
                "lead {}: {:.1}% likely to convert (model {}), expected value {} ({}), priority {}",
                p.lead_id,
                p.probability * 100.0,
                p.model_id,
                three_figures(p.expected_value),
                p.value_basis,
                three_figures(p.priority)
            );
            for r in p.reasons.iter().take(args.top) {
                println!("  {:>+6.1} pts  {}", r.points, r.text);
            }
        }
    }
    if let Some(s) = &lead.snapshot {
        println!(
            "rule score: {:.0} (grade {}, {}) under policy version {}",
            s.score, s.grade, s.temperature, s.policy_version
        );
    }
    store.close().await;
    Ok(())
}

fn print_record(m: &ModelRecord) {
    let metric = |name: &str| {
        m.evaluation
            .get("model")
            .and_then(|e| e.get(name))
            .and_then(serde_json::Value::as_f64)
    };
    println!(
        "{:>4}  {:<8} {}  {} leads  ROC-AUC {}  Brier {}",
        m.id,
        m.status,
        m.created_at.format("%Y-%m-%d %H:%M"),
        m.trained_on,
        opt(metric("roc_auc")),
        metric("brier").map_or_else(|| "n/a".into(), |b| format!("{b:.4}"))
    );
}

pub async fn model(args: ModelArgs) -> anyhow::Result<()> {
    match args.action {
        ModelAction::List { product, store } => {
            let store = store.open().await?;
            let models = store.models(&product).await?;
            if models.is_empty() {
                println!("no models for '{product}' yet (`leadgate train` makes one)");
            }
            models.iter().for_each(print_record);
            store.close().await;
        }
        ModelAction::Show { id, store } => {
            let store = store.open().await?;
            let m = store.model(id).await?;
            println!("{}", serde_json::to_string_pretty(&m)?);
            store.close().await;
        }
        ModelAction::Activate { id, store } => {
            let store = store.open().await?;
            let m = Models::new(store.clone()).activate(id).await?;
            println!("model {} is active for '{}'", m.id, m.product);
            predict_all(&store, &m.product).await?;
            store.close().await;
        }
        ModelAction::Export { id, file, store } => {
            let store = store.open().await?;
            let body = store.model_body(id).await?;
            std::fs::write(&file, body)
                .with_context(|| format!("cannot write {}", file.display()))?;
            println!("model {id} written to {}", file.display());
            store.close().await;
        }
        ModelAction::Import {
            file,
            product,
            store,
        } => {
            let json = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let store = store.open().await?;
            let m = Models::new(store.clone())
                .import(&product, &json, "cli")
                .await
                .with_context(|| format!("{} was not imported", file.display()))?;
            println!(
                "model {} (from {}) is active for '{product}'",
                m.id,
                file.display()
            );
            predict_all(&store, &product).await?;
            store.close().await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::three_figures;

    #[test]
    fn small_priorities_keep_their_figures() {
        assert_eq!(three_figures(0.3412), "0.341");
        assert_eq!(three_figures(0.004_56), "0.00456");
        assert_eq!(three_figures(12.345), "12.3");
        assert_eq!(three_figures(12_345.678), "12346");
        assert_eq!(three_figures(0.0), "0");
    }
}
