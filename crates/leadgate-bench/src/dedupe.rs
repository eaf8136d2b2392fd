//! `leadgate-bench dedupe`: matching a generated population with known duplicates, in
//! memory: time, pairs compared, precision and recall at both thresholds. `--write` puts the
//! same records and the known pairs in CSV files for other tools
//! (bench/dedupe_vs_recordlinkage.sh).

use anyhow::Context;
use clap::Args;
use leadgate_core::dedupe::{
    accuracy, find_matches, population, PersonKeys, PersonRecord, AUTO_MERGE, SUGGEST,
};
use serde_json::json;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct DedupeBenchArgs {
    /// Original people (about one in three also arrives again, or has a namesake).
    #[arg(long, default_value_t = 1_000_000)]
    people: usize,
    #[arg(long, default_value_t = 11)]
    seed: u64,
    /// Also write the records (`records.csv`) and the known duplicate pairs (`truth.csv`)
    /// into this folder.
    #[arg(long)]
    write: Option<PathBuf>,
    /// Print the figures as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: DedupeBenchArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (records, truth) = population(args.people, args.seed);
    let generated = started.elapsed().as_secs_f64();
    if let Some(dir) = &args.write {
        write(dir, &records, &truth)?;
    }
    // Normalising (folding names, company keys) is part of matching, as it is for the peers.
    let started = Instant::now();
    let people: Vec<PersonKeys> = records.iter().map(PersonRecord::keys).collect();
    let matches = find_matches(&people).matches;
    let seconds = started.elapsed().as_secs_f64();
    let levels: Vec<_> = [("auto_merge", AUTO_MERGE), ("suggest", SUGGEST)]
        .into_iter()
        .map(|(name, threshold)| {
            let a = accuracy(&matches, &truth, threshold);
            json!({"level": name, "threshold": threshold, "pairs": a.pairs,
                   "precision": a.precision, "recall": a.recall})
        })
        .collect();
    if args.json {
        println!(
            "{}",
            json!({"records": records.len(), "known_pairs": truth.len(), "seconds": seconds, "levels": levels})
        );
        return Ok(());
    }
    println!(
        "leadgate-bench dedupe: {} records ({} known duplicate pairs) generated in {generated:.1} s",
        records.len(),
        truth.len(),
    );
    println!(
        "normalised and matched in {seconds:.1} s ({:.0} records/s)",
        records.len() as f64 / seconds
    );
    println!();
    println!("| threshold | pairs | precision | recall |");
    println!("|---|---:|---:|---:|");
    for level in &levels {
        println!(
            "| {} ({}) | {} | {:.3} | {:.3} |",
            level["level"].as_str().unwrap_or_default(),
            level["threshold"],
            level["pairs"],
            level["precision"].as_f64().unwrap_or_default(),
            level["recall"].as_f64().unwrap_or_default()
        );
    }
    Ok(())
}

fn write(
    dir: &std::path::Path,
    records: &[PersonRecord],
    truth: &HashSet<(i64, i64)>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut out = csv::Writer::from_path(dir.join("records.csv"))?;
    for record in records {
        out.serialize(record)?;
    }
    out.flush()?;
    let mut pairs: Vec<_> = truth.iter().collect();
    pairs.sort_unstable();
    let mut out = csv::Writer::from_path(dir.join("truth.csv"))?;
    out.write_record(["a", "b"])?;
    for (a, b) in pairs {
        out.write_record([a.to_string(), b.to_string()])?;
    }
    out.flush()?;
    Ok(())
}
