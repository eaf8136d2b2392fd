//! `leadgate bench dedupe`: matching a generated population with known duplicates, in
//! memory: time, pairs compared, precision and recall at both thresholds.

use clap::Args;
use leadgate_core::dedupe::{find_matches, population, AUTO_MERGE, SUGGEST};
use std::collections::HashSet;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct DedupeBenchArgs {
    /// Original people (about one in three also arrives again, or has a namesake).
    #[arg(long, default_value_t = 1_000_000)]
    people: usize,
    #[arg(long, default_value_t = 11)]
    seed: u64,
}

pub async fn run(args: DedupeBenchArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (people, truth) = population(args.people, args.seed);
    println!(
        "leadgate bench dedupe: {} records ({} known duplicate pairs) generated in {:.1} s",
        people.len(),
        truth.len(),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let matches = find_matches(&people);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "matched in {seconds:.1} s ({:.0} records/s)",
        people.len() as f64 / seconds
    );
    println!();
    println!("| threshold | pairs | precision | recall |");
    println!("|---|---:|---:|---:|");
    for (name, threshold) in [
        ("auto merge (0.95)", AUTO_MERGE),
        ("suggest (0.80)", SUGGEST),
    ] {
        let found: HashSet<(i64, i64)> = matches
            .iter()
            .filter(|m| m.score >= threshold)
            .map(|m| (m.a, m.b))
            .collect();
        let hits = found.intersection(&truth).count() as f64;
        println!(
            "| {name} | {} | {:.3} | {:.3} |",
            found.len(),
            hits / found.len().max(1) as f64,
            hits / truth.len().max(1) as f64
        );
    }
    Ok(())
}
