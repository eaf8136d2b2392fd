//! `leadgate import FILE` and `leadgate export`: leads in from a CSV file, out to one.

use super::StoreArgs;
use crate::import::{self, ImportError, ImportOptions};
use anyhow::Context;
use chrono::Utc;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use leadgate_store::{LeadFilter, Store};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file (UTF-8, with a header row; the delimiter is detected).
    #[arg(required_unless_present = "status")]
    file: Option<PathBuf>,
    /// List the latest imports and where each stands (running, interrupted, finished),
    /// with how to resume an interrupted one; imports nothing.
    #[arg(long, conflicts_with_all = ["dry_run", "again"])]
    status: bool,
    /// A mapping file (TOML); without one, the mapping is guessed from the header and printed.
    #[arg(long, short)]
    mapping: Option<PathBuf>,
    /// Check every row and write the rejects report, storing nothing.
    #[arg(long)]
    dry_run: bool,
    /// Import a file that was imported with the same mapping before.
    #[arg(long)]
    again: bool,
    /// Write the rejects report here (default: FILE's name with .rejects.csv, beside it, or
    /// in the current folder if that one is read-only).
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// Write the mapping used (guessed or given) here, to edit and reuse.
    #[arg(long)]
    save_mapping: Option<PathBuf>,
    /// Recorded as the actor of every change.
    #[arg(long, env = "USER", default_value = "cli")]
    actor: String,
    #[command(flatten)]
    store: StoreArgs,
}

pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let file = match (&args.file, args.status) {
        (Some(file), false) => file.clone(),
        _ => return print_status(&args.store.open().await?).await,
    };
    let mapping = args
        .mapping
        .as_ref()
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display())))
        .transpose()?;
    let store = args.store.open().await?;
    let rejects_path = args
        .rejects
        .clone()
        .unwrap_or_else(|| default_rejects_path(&file));
    let mut rejects = BufWriter::new(
        File::create(&rejects_path)
            .with_context(|| format!("cannot write {}", rejects_path.display()))?,
    );
    let total = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{prefix} {bar:40} {percent:>3}% {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(if args.dry_run {
        "checking"
    } else {
        "importing"
    });
    let started = Instant::now();
    let options = ImportOptions {
        mapping,
        dry_run: args.dry_run,
        again: args.again,
        actor: format!("cli:{}", args.actor),
        file_name: file.display().to_string(),
    };
    let result = import::run(
        &store,
        &file,
        &options,
        |rows, bytes| {
            bar.set_position(bytes);
            let rate = rows as f64 / started.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!("{rows} rows, {rate:.0} rows/s"));
        },
        Some(&mut rejects),
    )
    .await;
    bar.finish_and_clear();
    drop(rejects);
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            let _ = std::fs::remove_file(&rejects_path);
            return Err(match e {
                ImportError::Mapping(_) | ImportError::MappingSyntax(_) => {
                    let which = args
                        .mapping
                        .as_ref()
                        .map_or("the guessed mapping".to_owned(), |p| {
                            p.display().to_string()
                        });
                    anyhow::anyhow!("{which}: {e}")
                }
                other => anyhow::anyhow!("{}: {other}", file.display()),
            });
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    if report.guessed {
        println!("# The mapping guessed from the header (save it with --save-mapping, edit, and pass it with --mapping):");
        println!("{}", report.mapping);
    }
    if let Some(path) = &args.save_mapping {
        std::fs::write(path, &report.mapping)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("mapping saved to {}", path.display());
    }
    if !report.ignored_columns.is_empty() {
        println!(
            "columns not imported: {}",
            report
                .ignored_columns
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for suspect in &report.suspects {
        println!("suspect column: {}", suspect.sentence(report.guessed));
    }
    let rate = report.rows as f64 / elapsed.max(1e-3);
    match &report.import {
        None => println!(
            "dry run: {} rows, {} valid, {} rejected ({:.1} s, {rate:.0} rows/s); nothing stored",
            report.rows, report.valid, report.rejected, elapsed
        ),
        Some(import) => {
            if report.resumed {
                println!(
                    "resumed import {}, which had been interrupted, where it had stopped",
                    import.id
                );
            }
            println!(
                "import {}: {} rows: {} inserted, {} updated, {} unchanged, {} rejected; {} outcomes recorded ({elapsed:.1} s, {rate:.0} rows/s)",
                import.id, report.rows, import.inserted, import.updated, import.unchanged, import.rejected, import.outcomes
            );
            if import.merged + import.suggested > 0 {
                println!(
                    "duplicates: {} new people merged into people already known, {} likely ones suggested (leadgate merges list --status suggested)",
                    import.merged, import.suggested
                );
            }
            if import.match_blocks_skipped + import.match_people_capped > 0 {
                println!(
                    "matching left {} groups of people uncompared (each larger than {} people even by whole name) and stopped early for {} people with over {} likely duplicates; leadgate dedupe and the merge suggestions cover the rest",
                    import.match_blocks_skipped,
                    leadgate_core::dedupe::MAX_BLOCK,
                    import.match_people_capped,
                    leadgate_core::dedupe::MAX_MATCHES_PER_PERSON
                );
            }
            let scored = rescore_imported(&store).await?;
            if scored > 0 {
                println!("scored {scored} leads under the policy in force");
            }
        }
    }
    if report.rejected > 0 {
        println!(
            "rejected rows are listed in {} (row, column, reason)",
            rejects_path.display()
        );
    } else {
        let _ = std::fs::remove_file(&rejects_path);
    }
    store.close().await;
    Ok(())
}

/// The latest imports, one line each; how to resume the interrupted ones.
async fn print_status(store: &Store) -> anyhow::Result<()> {
    let imports = store.imports(20).await?;
    if imports.is_empty() {
        println!("no imports yet");
    }
    for import in &imports {
        println!(
            "import {} {} {}: {} rows done ({} inserted, {} updated, {} rejected), started {}",
            import.id,
            import.file_name,
            import.status,
            import.rows_done,
            import.inserted,
            import.updated,
            import.rejected,
            import.started_at.format("%Y-%m-%d %H:%M UTC"),
        );
        if import.status == leadgate_core::import::ImportStatus::Interrupted {
            println!(
                "  its process stopped after row {}: run `leadgate import {}` again with the same mapping to resume it there",
                import.rows_done + 1,
                import.file_name
            );
        }
    }
    store.close().await;
    Ok(())
}

/// Scores the leads the import touched (flagged as due in its transactions), so the store is
/// qualified when the command returns; a running server would do it in the background.
pub async fn rescore_imported(store: &Store) -> anyhow::Result<usize> {
    let mut total = 0;
    loop {
        let n = leadgate_app::rescore::rescore_due(store, 1000, Utc::now()).await?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
    }
}

/// `leads.csv` -> `leads.rejects.csv` beside it, or in the current folder when that folder
/// cannot be written.
fn default_rejects_path(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    let name = format!("{stem}.rejects.csv");
    let beside = file.with_file_name(&name);
    let dir = beside
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let writable =
        std::fs::metadata(dir).is_ok_and(|m| !m.permissions().readonly()) && tempfile_probe(dir);
    if writable {
        beside
    } else {
        PathBuf::from(name)
    }
}

/// Whether a file can be made in `dir` (permission bits do not tell for root or read-only
/// mounts).
fn tempfile_probe(dir: &Path) -> bool {
    let probe = dir.join(format!(".leadgate-probe-{}", std::process::id()));
    let ok = File::create(&probe).is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Where to write (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Only leads at this stage.
    #[arg(long)]
    stage: Option<String>,
    /// Only leads whose first touch came through this channel.
    #[arg(long)]
    channel: Option<String>,
    /// Only leads whose name, email or company contain this text.
    #[arg(long)]
    q: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let filter = LeadFilter {
        stage: args
            .stage
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--stage: {e}"))?,
        channel: args
            .channel
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: String| anyhow::anyhow!("--channel: {e}"))?,
        q: args.q.clone(),
        ..LeadFilter::default()
    };
    let store = args.store.open().await?;
    let out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let count = crate::export::write_csv(&store, filter, BufWriter::new(out)).await?;
    if let Some(path) = &args.out {
        eprintln!("exported {count} leads to {}", path.display());
    }
    store.close().await;
    Ok(())
}
