//! `leadgate-bench model`: the conversion model trained and scored on a CSV file (any
//! columns: numbers, yes/no, text), for measuring against LightGBM on the same rows and
//! split (bench/model_vs_lightgbm.sh), and for how time grows with rows.

use anyhow::{bail, Context};
use clap::Args;
use leadgate_ml::model::{Example, Settings};
use leadgate_ml::{feature_name, FeatureName, Observation, Raw};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ModelBenchArgs {
    /// A CSV file with a header.
    #[arg(long)]
    csv: PathBuf,
    /// The outcome column: 1/true/yes/won is won, anything else lost.
    #[arg(long)]
    label: String,
    /// The column that names each row (written to --test-keys).
    #[arg(long)]
    key: String,
    /// Columns to leave out, comma-separated.
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
    /// Read at most this many rows.
    #[arg(long)]
    rows: Option<usize>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Write the test rows' keys here, one per line.
    #[arg(long)]
    test_keys: Option<PathBuf>,
}

fn raw(cell: &str) -> Option<Raw> {
    let cell = cell.trim();
    if cell.is_empty() {
        return None;
    }
    if let Ok(n) = cell.parse::<f64>() {
        return n.is_finite().then_some(Raw::Num(n));
    }
    Some(match cell.to_lowercase().as_str() {
        "yes" | "true" => Raw::Num(1.0),
        "no" | "false" => Raw::Num(0.0),
        _ => Raw::text(cell),
    })
}

pub async fn run(args: ModelBenchArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&args.csv)
        .with_context(|| format!("cannot read {}", args.csv.display()))?;
    let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    let position = |name: &str| header.iter().position(|h| h == name);
    let (Some(label), Some(key)) = (position(&args.label), position(&args.key)) else {
        bail!(
            "--label {} and --key {} must both be columns of the file",
            args.label,
            args.key
        );
    };
    // One shared name per column, as the store's observations have.
    let names: Vec<FeatureName> = header.iter().map(|h| feature_name(h)).collect();
    let mut examples = Vec::new();
    for record in reader.records() {
        if args.rows.is_some_and(|n| examples.len() >= n) {
            break;
        }
        let record = record?;
        let mut observation = Observation::new();
        for (i, cell) in record.iter().enumerate() {
            let name = &header[i.min(header.len() - 1)];
            if i == label || i == key || name.is_empty() || args.exclude.contains(name) {
                continue;
            }
            if let Some(raw) = raw(cell) {
                observation.insert(names[i.min(names.len() - 1)].clone(), raw);
            }
        }
        let outcome = record.get(label).unwrap_or("").trim().to_lowercase();
        examples.push(Example {
            key: record.get(key).unwrap_or("").to_owned(),
            observation,
            won: matches!(outcome.as_str(), "1" | "true" | "yes" | "won"),
            at: chrono::DateTime::UNIX_EPOCH,
            value: None,
        });
    }
    let read_seconds = started.elapsed().as_secs_f64();
    let settings = Settings {
        seed: args.seed,
        ..Settings::default()
    };
    let evaluation =
        tokio::task::spawn_blocking(move || leadgate_ml::evaluate(&examples, &settings)).await??;
    if let Some(path) = &args.test_keys {
        std::fs::write(path, evaluation.test_keys.join("\n") + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut value = serde_json::to_value(&evaluation)?;
    if let Some(map) = value.as_object_mut() {
        map.remove("test_keys");
        map.insert("read_seconds".into(), read_seconds.into());
    }
    println!("{}", serde_json::to_string(&value)?);
    Ok(())
}
