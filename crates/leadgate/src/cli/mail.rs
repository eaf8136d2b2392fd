//! `leadgate mail ingest`: one message on standard input, the way a mail server pipes mail
//! to a program, made a lead or an `email_logged` event (see `leadgate_app::inbound`).

use super::StoreArgs;
use anyhow::Context;
use clap::{Args, Subcommand};
use leadgate_core::Email;
use std::io::Read;

/// The addresses whose mail becomes leads (also the server's, for `POST /inbound/email`).
#[derive(Debug, Clone, Args)]
pub struct InboundArgs {
    /// An address whose incoming mail becomes leads, e.g. sales@example.com (repeat it, or
    /// separate several with commas). Mail to no such address is refused.
    #[arg(long = "inbound-address", env = "LEADGATE_INBOUND_ADDRESSES", value_delimiter = ',', value_parser = parse_address)]
    pub addresses: Vec<Email>,
}

fn parse_address(raw: &str) -> Result<Email, String> {
    Email::parse(raw.trim()).map_err(|e| format!("'{raw}' is not an email address: {e}"))
}

#[derive(Debug, Args)]
pub struct MailArgs {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    inbound: InboundArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Read one message (RFC 5322) on standard input and store it. Exit status for mail
    /// servers: 0 stored (or received before), 65 refused (the server bounces it), 75 the
    /// store failed (the server tries again later).
    Ingest {
        /// Recorded as the actor of what the message stores.
        #[arg(long, default_value = "mail")]
        actor: String,
    },
}

/// sysexits.h: the input was bad (bounce), or try again later.
const EX_DATAERR: i32 = 65;
const EX_TEMPFAIL: i32 = 75;

pub async fn run(args: MailArgs) -> anyhow::Result<()> {
    let Action::Ingest { actor } = args.action;
    let mut raw = Vec::new();
    std::io::stdin()
        .take(leadgate_core::inbound::MAX_MESSAGE_BYTES as u64 + 1)
        .read_to_end(&mut raw)
        .context("cannot read the message on standard input")?;
    let store = match args.store.open().await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("{e:#}");
            std::process::exit(EX_TEMPFAIL);
        }
    };
    let models = leadgate_app::Models::new(store.clone());
    let received =
        leadgate_app::inbound::receive(&store, &models, &raw, &args.inbound.addresses, &actor)
            .await;
    store.close().await;
    match received {
        Ok(r) if r.bounced.is_some() => println!(
            "lead {}: email {} bounced{}",
            r.lead.id,
            r.bounced.unwrap_or_default(),
            if r.logged { "" } else { " (reported before)" }
        ),
        Ok(r) if !r.logged => println!("lead {}: this message was received before", r.lead.id),
        Ok(r) => println!(
            "lead {} {}: message logged",
            r.lead.id,
            if r.created { "created" } else { "known" }
        ),
        Err(leadgate_app::AppError::Store(leadgate_store::StoreError::Invalid(errors))) => {
            eprintln!("{}", super::field_errors(None, errors));
            std::process::exit(EX_DATAERR);
        }
        Err(e) => {
            eprintln!("cannot store the message: {e}");
            std::process::exit(EX_TEMPFAIL);
        }
    }
    Ok(())
}
