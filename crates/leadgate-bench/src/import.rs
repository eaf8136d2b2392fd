//! `leadgate-bench import`: a generated CSV file imported with validation, normalisation and
//! matching, against `psql \copy` loading the same file into a plain table, in one run.

use crate::ingest::EngineChoice;
use anyhow::{bail, Context};
use clap::Args;
use leadgate::import::{self, ImportOptions};
use leadgate_store::testing::{postgres_admin_url, TestDatabase};
use leadgate_store::Engine;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct ImportBenchArgs {
    /// Rows in the generated file.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Which engine(s) to import into (psql \copy always loads PostgreSQL).
    #[arg(long, value_enum, default_value = "both")]
    engine: EngineChoice,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Keep the generated file here (to import it by hand, or load it with other tools).
    #[arg(long)]
    keep_file: Option<std::path::PathBuf>,
}

const MAPPING: &str = r#"
[[column]]
name = "Lead ID"
field = "external_id"
[[column]]
name = "First Name"
field = "first_name"
[[column]]
name = "Last Name"
field = "last_name"
[[column]]
name = "Email"
field = "email"
[[column]]
name = "Phone"
field = "phone"
[[column]]
name = "Company"
field = "company"
[[column]]
name = "Job Title"
field = "job_title"
[[column]]
name = "Country"
field = "country"
[[column]]
name = "Lead Source"
field = "channel"
[[column]]
name = "Converted"
field = "outcome"
"#;

pub async fn run(args: ImportBenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = args
        .keep_file
        .clone()
        .unwrap_or_else(|| dir.path().join("leads.csv"));
    let started = Instant::now();
    write_file(&file, args.rows, args.seed)?;
    let bytes = std::fs::metadata(&file)?.len();
    println!(
        "leadgate-bench import: {} rows ({:.1} MB) generated in {:.1} s; 1 in 10 people appear twice (another lead id, the email in other case)",
        args.rows,
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let copy = psql_copy(&file).await?;
    println!("psql \\copy into a plain table: {copy:.2} s");
    crate::memory::reset_peak();
    let checked = dry_run(&file).await?;
    println!(
        "reading and checking alone (leadgate import --dry-run: every cell validated and normalised, nothing stored): {checked:.2} s = {:.1}x psql \\copy, peak RSS {:.0} MiB",
        checked / copy,
        crate::memory::peak_mib()
    );

    let engines = args.engine.engines();
    let mut results = Vec::new();
    for engine in engines {
        let db = TestDatabase::new(engine).await;
        let store = db.store().await;
        let options = ImportOptions {
            mapping: Some(MAPPING.to_owned()),
            actor: "bench".into(),
            file_name: "leads.csv".into(),
            ..ImportOptions::default()
        };
        crate::memory::reset_peak();
        let started = Instant::now();
        let mut last_print = Instant::now();
        // The last progress comes when every row is stored, before the import's people are
        // matched.
        let mut stored = started;
        let report = import::run(
            &store,
            &file,
            &options,
            |rows, _| {
                stored = Instant::now();
                if last_print.elapsed().as_secs() >= 10 {
                    last_print = Instant::now();
                    eprintln!(
                        "  {engine:?}: {rows} rows, {:.0} rows/s",
                        rows as f64 / started.elapsed().as_secs_f64()
                    );
                }
            },
            None,
        )
        .await?;
        let seconds = started.elapsed().as_secs_f64();
        let peak = crate::memory::peak_mib();
        let stored_seconds = (stored - started).as_secs_f64();
        let import = report.import.context("an import record")?;
        println!(
            "{engine:?}: {} inserted, {} updated, {} rejected, {} leads, {} people in {seconds:.1} s",
            import.inserted,
            import.updated,
            import.rejected,
            store.count_leads().await?,
            leadgate_store::testing::count(&store, "SELECT COUNT(*) FROM people").await
        );
        println!(
            "  rows stored in {stored_seconds:.1} s ({:.0} rows/s); the import's people matched in {:.1} s: {} merged, {} suggested",
            args.rows as f64 / stored_seconds,
            seconds - stored_seconds,
            import.merged,
            import.suggested
        );
        // Scoring what the import stored, as `leadgate import` does before it returns.
        let started = Instant::now();
        let scored = leadgate::cli::import::rescore_imported(&store).await?;
        println!(
            "  then {scored} leads scored in {:.1} s (not part of the import's time)",
            started.elapsed().as_secs_f64()
        );
        // The whole-store pass (`leadgate dedupe`) over what the import stored.
        let started = Instant::now();
        let dedupe = leadgate_app::dedupe::dedupe(&store, "bench", false).await?;
        let dedupe_seconds = started.elapsed().as_secs_f64();
        println!(
            "  leadgate dedupe over the store: {} people, {} pairs, {} merged, {} suggested in {dedupe_seconds:.1} s",
            dedupe.people, dedupe.pairs_found, dedupe.merged, dedupe.suggested
        );
        results.push((engine, seconds, peak));
        store.close().await;
        db.cleanup().await;
    }
    println!();
    println!("| engine | leadgate import (s) | rows/s | psql \\copy (s) | import / copy | --dry-run / copy | import peak RSS (MiB) |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (engine, seconds, peak) in results {
        println!(
            "| {engine:?} | {seconds:.1} | {:.0} | {copy:.2} | {:.1}x | {:.1}x | {peak:.0} |",
            args.rows as f64 / seconds,
            seconds / copy,
            checked / copy
        );
    }
    Ok(())
}

/// Reads and checks every row with the bench's mapping, storing nothing: the part of an
/// import that no store design can take away.
async fn dry_run(file: &Path) -> anyhow::Result<f64> {
    let db = TestDatabase::new(Engine::Sqlite).await;
    let store = db.store().await;
    let options = ImportOptions {
        mapping: Some(MAPPING.to_owned()),
        dry_run: true,
        file_name: "leads.csv".into(),
        ..ImportOptions::default()
    };
    let started = Instant::now();
    let report = import::run(&store, file, &options, |_, _| {}, None).await?;
    let seconds = started.elapsed().as_secs_f64();
    if report.valid == 0 {
        bail!("the dry run found no valid row");
    }
    store.close().await;
    db.cleanup().await;
    Ok(seconds)
}

/// Loads the file into a plain table of text columns in a fresh database, with psql.
async fn psql_copy(file: &Path) -> anyhow::Result<f64> {
    let db = TestDatabase::new(Engine::Postgres).await;
    let store = db.store().await;
    store.close().await;
    let create = "CREATE TABLE plain (lead_id text, first_name text, last_name text, email text, phone text, company text, job_title text, country text, lead_source text, converted text)";
    let status = std::process::Command::new("psql")
        .args([db.url.as_str(), "-q", "-c", create])
        .status()
        .context("psql must be installed (it comes with PostgreSQL)")?;
    if !status.success() {
        bail!(
            "psql could not create the table at {}",
            postgres_admin_url()
        );
    }
    let started = Instant::now();
    let status = std::process::Command::new("psql")
        .args([
            db.url.as_str(),
            "-q",
            "-c",
            &format!(
                "\\copy plain FROM '{}' WITH (FORMAT csv, HEADER true)",
                file.display()
            ),
        ])
        .status()?;
    let seconds = started.elapsed().as_secs_f64();
    db.cleanup().await;
    if !status.success() {
        bail!("psql \\copy failed");
    }
    Ok(seconds)
}

/// Seeded leads in several scripts; one person in ten arrives twice.
fn write_file(path: &Path, rows: usize, seed: u64) -> anyhow::Result<()> {
    const FIRST: [&str; 24] = [
        "Ana",
        "Minh Anh",
        "Wei",
        "علی",
        "Sara",
        "Thảo",
        "Lukas",
        "María",
        "Jun",
        "فاطمه",
        "John",
        "Hùng",
        "Lan",
        "محمد",
        "Anna",
        "Tuấn",
        "Jonas",
        "Lucía",
        "Mei",
        "زهرا",
        "Peter",
        "Hoa",
        "Chen",
        "Sofia",
    ];
    const MIDDLE: [&str; 8] = ["", "", "", "", "Văn", "Thị", "J.", "Maria"];
    const LAST: [&str; 24] = [
        "Silva",
        "Nguyễn",
        "王",
        "رضایی",
        "Müller",
        "Trần",
        "Smith",
        "García",
        "李",
        "Kim",
        "محمدی",
        "Lê",
        "Phạm",
        "张",
        "Schmidt",
        "Costa",
        "احمدی",
        "Hoàng",
        "Brown",
        "López",
        "陈",
        "Weber",
        "Park",
        "کریمی",
    ];
    const COMPANIES: [&str; 8] = [
        "Acme Inc",
        "Saigon Express JSC",
        "天河机械有限公司",
        "شرکت پارسیان",
        "Müller GmbH",
        "Globex S.A.",
        "Công ty TNHH Hòa Bình",
        "Initech Ltd",
    ];
    const DOMAINS: [&str; 8] = [
        "acme",
        "saigonexpress",
        "tianhe",
        "parsian",
        "mueller",
        "globex",
        "hoabinh",
        "initech",
    ];
    const FREE_MAIL: [&str; 3] = ["gmail.com", "yahoo.com", "outlook.com"];
    const TITLES: [&str; 5] = ["CEO", "Marketing Manager", "经理", "Giám đốc", "مدیر فروش"];
    const COUNTRIES: [&str; 6] = [
        "Vietnam",
        "China",
        "Iran",
        "Germany",
        "Brazil",
        "United States",
    ];
    const SOURCES: [&str; 5] = ["web_form", "search_ad", "webinar", "referral", "event"];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "Lead ID,First Name,Last Name,Email,Phone,Company,Job Title,Country,Lead Source,Converted"
    )?;
    for i in 0..rows {
        // Every tenth row is an earlier person again, under another lead id.
        let person = if i % 10 == 9 { rng.gen_range(0..i) } else { i };
        // Names and workplace from the person's number, well mixed: about 25 people per
        // company at a million rows, who write from its domain or (three in ten) from free
        // mail; no two people at one company share a name, so matching finds no fuzzy pairs
        // here (its accuracy is `bench dedupe`'s) but reads every colleague.
        let h = (person as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
        let base = ((h / 4608) % 8) as usize;
        let company = COMPANIES[base];
        let domain = if (h / 36_864) % 10 < 3 {
            FREE_MAIL[((h / 368_640) % 3) as usize].to_owned()
        } else {
            format!("{}{}.example", DOMAINS[base], person % 5000)
        };
        let email = format!("person{person}@{domain}");
        let email = if person == i {
            email
        } else {
            email.to_uppercase()
        };
        let converted = match rng.gen_range(0..10) {
            0 => "1",
            1..=3 => "0",
            _ => "",
        };
        let first = FIRST[(h % 24) as usize];
        let middle = MIDDLE[((h / 24) % 8) as usize];
        let last = LAST[((h / 192) % 24) as usize];
        let first = if middle.is_empty() {
            first.to_owned()
        } else {
            format!("{first} {middle}")
        };
        writeln!(
            out,
            "L{i},{first},{last},{email},+1 555 {:07},\"{company} {}\",{},{},{},{converted}",
            person % 10_000_000,
            person % 5000,
            TITLES.choose(&mut rng).copied().unwrap_or("CEO"),
            COUNTRIES.choose(&mut rng).copied().unwrap_or("Vietnam"),
            SOURCES.choose(&mut rng).copied().unwrap_or("web_form"),
        )?;
    }
    out.flush()?;
    Ok(())
}
