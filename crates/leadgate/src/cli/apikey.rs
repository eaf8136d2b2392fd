//! `leadgate apikey create|list|revoke`.

use super::StoreArgs;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ApikeyArgs {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Make a key; its secret is printed once and stored only as a hash.
    Create {
        name: String,
        /// What the key may do: admin, marketing, sales_manager, sales_rep or viewer.
        #[arg(long, default_value = "admin")]
        role: leadgate_core::access::Role,
        /// The team a sales_manager or sales_rep key works for (it sees only its leads).
        #[arg(long)]
        team: Option<String>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id or prefix.
    Revoke { key: String },
}

pub async fn run(args: ApikeyArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    match args.action {
        Action::Create { name, role, team } => {
            let made = store.create_api_key(&name, role, team.as_deref()).await?;
            eprintln!(
                "API key '{}' (id {}, prefix {}, role {}). Keep it now: it is not shown again.",
                made.key.name,
                made.key.id,
                made.key.prefix,
                made.key.role()
            );
            println!("{}", made.secret);
        }
        Action::List => {
            println!(
                "{:>4}  {:<8}  {:<20}  {:<14}  {:<25}  status",
                "id", "prefix", "name", "role", "created"
            );
            for key in store.list_api_keys().await? {
                let status = match key.revoked_at() {
                    Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M")),
                    None => "active".into(),
                };
                println!(
                    "{:>4}  {:<8}  {:<20}  {:<14}  {:<25}  {status}",
                    key.id,
                    key.prefix,
                    key.name,
                    key.role(),
                    key.created_at().format("%Y-%m-%d %H:%M:%S UTC")
                );
            }
        }
        Action::Revoke { key } => {
            if store.revoke_api_key(&key).await? {
                println!("revoked {key}");
            } else {
                anyhow::bail!(
                    "no active API key has id or prefix '{key}' (see `leadgate apikey list`)"
                );
            }
        }
    }
    store.close().await;
    Ok(())
}
