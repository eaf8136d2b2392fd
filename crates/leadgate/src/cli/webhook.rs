//! `leadgate webhook add|list|pause|resume|deliveries|replay`: webhook subscriptions from the
//! terminal.

use super::StoreArgs;
use clap::{Args, Subcommand};
use leadgate_core::webhook::WebhookInput;
use serde_json::json;

#[derive(Debug, Args)]
pub struct WebhookArgs {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Subscribe URL to event types (comma-separated, or * for all); prints the secret once.
    Add {
        url: String,
        #[arg(long, default_value = "*")]
        events: String,
        #[arg(long)]
        description: Option<String>,
        /// Allow a loopback or private-network target.
        #[arg(long)]
        allow_private: bool,
    },
    /// List the subscriptions.
    List,
    /// Stop sending to subscription ID.
    Pause { id: i64 },
    /// Start sending to subscription ID again.
    Resume { id: i64 },
    /// The latest delivery attempts of subscription ID.
    Deliveries {
        id: i64,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Send event EVENT to subscription ID again.
    Replay { id: i64, event: i64 },
}

pub async fn run(args: WebhookArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    match args.action {
        Action::Add {
            url,
            events,
            description,
            allow_private,
        } => {
            let events: Vec<&str> = events.split(',').map(str::trim).collect();
            let input = WebhookInput::parse(
                &json!({"url": url, "events": events, "description": description}),
            )
            .map_err(|errors| super::field_errors(None, errors))?;
            if let Some(reason) =
                crate::jobs::webhook::refused_target(&input.url, allow_private).await
            {
                anyhow::bail!("url: {reason}");
            }
            let (webhook, secret) = store.create_webhook(&input).await?;
            println!(
                "webhook {} sends {} to {}",
                webhook.id,
                webhook.events.join(", "),
                webhook.url
            );
            println!("signing secret (shown once): {secret}");
        }
        Action::List => {
            for w in store.webhooks().await? {
                println!(
                    "{:>4}  {:<7} {:<40} {}",
                    w.id,
                    if w.active { "active" } else { "paused" },
                    w.url,
                    w.events.join(",")
                );
            }
        }
        Action::Pause { id } => {
            store.set_webhook_active(id, false).await?;
            println!("webhook {id} paused");
        }
        Action::Resume { id } => {
            store.set_webhook_active(id, true).await?;
            println!("webhook {id} resumed");
        }
        Action::Deliveries { id, limit } => {
            store.webhook(id).await?;
            for d in store.deliveries(id, limit).await? {
                println!(
                    "{}  event {:<8} attempt {}  {}  {} ms  {}",
                    d.attempted_at.0.format("%Y-%m-%d %H:%M:%S"),
                    d.event_id,
                    d.attempt,
                    d.status.map_or("---".into(), |s| s.to_string()),
                    d.duration_ms,
                    d.error.as_deref().unwrap_or("ok")
                );
            }
        }
        Action::Replay { id, event } => {
            let job = store.replay_delivery(id, event).await?;
            println!(
                "event {event} queued for webhook {id} (job {job}); a running server sends it"
            );
        }
    }
    Ok(())
}
