//! `leadgate dedupe` and `leadgate merges list|apply|reject|undo`: duplicate people found
//! over the whole store, merged, reviewed and undone.

use super::StoreArgs;
use clap::{Args, Subcommand};
use leadgate_core::dedupe::MergeStatus;

#[derive(Debug, Args)]
pub struct DedupeArgs {
    /// Count what would be merged and suggested, changing nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long, env = "USER", default_value = "cli")]
    actor: String,
    #[command(flatten)]
    store: StoreArgs,
}

pub async fn run(args: DedupeArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let started = std::time::Instant::now();
    let summary =
        leadgate_app::dedupe::dedupe(&store, &format!("cli:{}", args.actor), args.dry_run).await?;
    println!(
        "{} people compared in {:.1} s: {} likely pairs; {} {}, {} {}",
        summary.people,
        started.elapsed().as_secs_f64(),
        summary.pairs_found,
        summary.merged,
        if args.dry_run {
            "would be merged"
        } else {
            "merged"
        },
        summary.suggested,
        if args.dry_run {
            "would be suggested"
        } else {
            "suggested for review (leadgate merges list)"
        }
    );
    store.close().await;
    Ok(())
}

#[derive(Debug, Args)]
pub struct MergesArgs {
    #[command(subcommand)]
    action: Action,
    #[arg(long, env = "USER", default_value = "cli", global = true)]
    actor: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List merges: suggested, merged, rejected, undone (all by default).
    List {
        #[arg(long)]
        status: Option<MergeStatus>,
    },
    /// Merge a suggested pair.
    Apply { id: i64 },
    /// Mark a suggested pair as two different people.
    Reject { id: i64 },
    /// Undo a merge.
    Undo { id: i64 },
}

pub async fn merges(args: MergesArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let actor = format!("cli:{}", args.actor);
    let record = match args.action {
        Action::List { status } => {
            for m in store.merges(status).await? {
                println!(
                    "{:>6}  {:<9}  person {} <- {}  score {:.2}  {}",
                    m.id,
                    m.status,
                    m.kept_person,
                    m.merged_person,
                    m.score,
                    m.reasons.join("; ")
                );
            }
            None
        }
        Action::Apply { id } => Some(store.apply_merge(id, &actor).await?),
        Action::Reject { id } => Some(store.reject_merge(id, &actor).await?),
        Action::Undo { id } => Some(store.undo_merge(id, &actor).await?),
    };
    if let Some(m) = record {
        println!(
            "merge {}: {} (person {} <- {}, {} leads)",
            m.id,
            m.status,
            m.kept_person,
            m.merged_person,
            m.moved_leads.len()
        );
    }
    store.close().await;
    Ok(())
}
