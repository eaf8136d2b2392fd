//! `leadgate gdpr export|erase PERSON`: a person's data out as JSON, or erased everywhere.

use super::StoreArgs;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use leadgate_core::id::PersonId;
use leadgate_core::Email;
use leadgate_store::Store;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct GdprArgs {
    #[command(subcommand)]
    action: Action,
    /// Recorded in the audit trail.
    #[arg(long, env = "USER", default_value = "cli", global = true)]
    actor: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Everything stored about PERSON (an email, lead:ID or person:ID), as JSON.
    Export {
        person: String,
        /// Write here instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Erase PERSON's data everywhere, event payloads included; anonymous counts stay.
    Erase {
        person: String,
        /// Confirm: erasure cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// The audit trail: every export and erasure, newest first.
    Log,
    /// PostgreSQL: rewrite the tables erasures touch (VACUUM FULL), so no table file keeps
    /// an erased value in its freed space. Locks each table while it is rewritten.
    Compact,
}

async fn person(store: &Store, who: &str) -> anyhow::Result<PersonId> {
    if let Some(id) = who.strip_prefix("person:") {
        return id
            .parse()
            .map(PersonId)
            .with_context(|| format!("'{who}': person:ID needs a number"));
    }
    if let Some(id) = who.strip_prefix("lead:") {
        let id: leadgate_core::id::LeadId = id
            .parse()
            .with_context(|| format!("'{who}': lead:ID needs a number"))?;
        return Ok(store.person_of_lead(id).await?);
    }
    let email = Email::parse(who)
        .map_err(|e| anyhow::anyhow!("'{who}' is not an email, lead:ID or person:ID ({})", e.0))?;
    Ok(store.person_by_email(&email).await?)
}

pub async fn run(args: GdprArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let actor = format!("cli:{}", args.actor);
    match args.action {
        Action::Export { person: who, out } => {
            let id = person(&store, &who).await?;
            let document = store.gdpr_export(id, &actor).await?;
            let text = serde_json::to_string_pretty(&document)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("exported person {id} to {}", path.display());
                }
                None => println!("{text}"),
            }
        }
        Action::Erase { person: who, yes } => {
            if !yes {
                bail!("erasure cannot be undone: pass --yes to erase {who}");
            }
            let id = person(&store, &who).await?;
            let erasure = store.gdpr_erase(id, &actor).await?;
            println!(
                "erased person {id}: {} leads and {} events scrubbed, {} consents kept without wording or address",
                erasure.leads, erasure.events, erasure.consents
            );
        }
        Action::Compact => match store.engine() {
            leadgate_store::Engine::Sqlite => {
                println!("nothing to do on SQLite: each erasure zeroes what it overwrites at once")
            }
            leadgate_store::Engine::Postgres => {
                store.compact_erased().await?;
                println!("rewrote the tables erasures touch; their files hold no erased value");
            }
        },
        Action::Log => {
            for (kind, person, actor, summary, at) in store.gdpr_requests().await? {
                println!(
                    "{}  {kind:<6} person {person:<8} by {actor:<20} {summary}",
                    at.to_rfc3339()
                );
            }
        }
    }
    store.close().await;
    Ok(())
}
