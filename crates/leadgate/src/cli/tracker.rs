//! `leadgate tracker add|list|snippet`: the website tracker from the terminal.

use super::StoreArgs;
use clap::{Args, Subcommand};
use leadgate_core::visits::{ConsentMode, TrackerDefinition};

#[derive(Debug, Args)]
pub struct TrackerArgs {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Make a tracker for the sites given (their origins: https://www.example.com) and print
    /// its snippet.
    Add {
        /// What the tracker is called on the settings page.
        #[arg(long)]
        name: String,
        /// A site the tracker may collect from (repeat for each).
        #[arg(long = "site", required = true)]
        sites: Vec<String>,
        /// `required` (nothing is recorded until the site calls leadgate.consent(true)) or
        /// `implied` (recorded unless it calls leadgate.consent(false)), where the law allows.
        #[arg(long, default_value = "required", value_parser = ConsentMode::parse)]
        consent: ConsentMode,
        /// This server's address as the sites' visitors reach it.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
    /// List the trackers, their keys and sites.
    List,
    /// Print the snippet of tracker KEY for the server at BASE_URL.
    Snippet {
        key: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
}

pub async fn run(args: TrackerArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    match args.action {
        Action::Add {
            name,
            sites,
            consent,
            base_url,
        } => {
            let tracker = store
                .create_tracker(&TrackerDefinition {
                    name,
                    sites,
                    consent,
                })
                .await
                .map_err(|e| match e {
                    leadgate_store::StoreError::Invalid(errors) => {
                        super::field_errors(None, errors)
                    }
                    other => other.into(),
                })?;
            eprintln!(
                "tracker {} made for {}; paste this into every page of the site:",
                tracker.key,
                tracker.definition.sites.join(", ")
            );
            println!("{}", tracker.definition.snippet(&base_url, &tracker.key));
        }
        Action::List => {
            for tracker in store.trackers().await? {
                println!(
                    "{:<24} {:<9} {:<24} {}",
                    tracker.key,
                    tracker.definition.consent.as_str(),
                    tracker.definition.name,
                    tracker.definition.sites.join(" ")
                );
            }
        }
        Action::Snippet { key, base_url } => {
            let tracker = store.tracker(&key).await?;
            println!("{}", tracker.definition.snippet(&base_url, &tracker.key));
        }
    }
    store.close().await;
    Ok(())
}
