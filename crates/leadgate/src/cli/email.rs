//! `leadgate email template|send|list|resend`: email templates and the outbox from the
//! terminal (a running server sends what is queued).

use super::StoreArgs;
use anyhow::Context;
use clap::{Args, Subcommand};
use leadgate_core::email::TemplateRequest;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct EmailArgs {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Create or replace template NAME from a file: the subject on the first line, a blank
    /// line, then the body.
    Template { name: String, file: PathBuf },
    /// Queue template TEMPLATE, rendered for lead LEAD.
    Send {
        lead: leadgate_core::id::LeadId,
        template: String,
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// The outbox, newest first.
    List {
        #[arg(long)]
        lead: Option<leadgate_core::id::LeadId>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Queue a failed or uncertain email ID again.
    Resend { id: i64 },
}

pub async fn run(args: EmailArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    match args.action {
        Action::Template { name, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let (subject, body) = text.split_once("\n\n").with_context(|| {
                format!(
                    "{}: write the subject, a blank line, then the body",
                    file.display()
                )
            })?;
            let template = TemplateRequest {
                subject: Some(subject.trim().to_owned()),
                body: Some(body.to_owned()),
            }
            .check()
            .map_err(|errors| super::field_errors(Some(&file), errors))?;
            let new = store.put_email_template(&name, &template).await?;
            println!(
                "template '{name}' {}",
                if new { "created" } else { "replaced" }
            );
        }
        Action::Send { lead, template, by } => {
            let email = store.queue_email(lead, &template, &by).await?;
            println!(
                "email {} to {} queued: {}",
                email.id, email.to_address, email.subject
            );
        }
        Action::List { lead, limit } => {
            for e in store.emails(lead, limit).await? {
                println!(
                    "{:>6}  lead {:<7} {:<10} {:<28} {}  {}",
                    e.id,
                    e.lead_id,
                    e.state,
                    e.to_address,
                    e.subject,
                    e.error.as_deref().unwrap_or("")
                );
            }
        }
        Action::Resend { id } => {
            let email = store.resend_email(id).await?;
            println!("email {} queued again", email.id);
        }
    }
    Ok(())
}
