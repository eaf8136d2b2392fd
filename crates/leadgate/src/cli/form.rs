//! `leadgate form put|list|embed`: web-to-lead forms from the terminal.

use super::StoreArgs;
use anyhow::Context;
use clap::{Args, Subcommand};
use leadgate_core::form::FormDefinition;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct FormArgs {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Create or replace the form KEY from a JSON definition (see the README).
    Put { key: String, file: PathBuf },
    /// List the forms and where they post.
    List,
    /// Print the HTML snippet of form KEY, posting to the server at BASE_URL.
    Embed {
        key: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
}

pub async fn run(args: FormArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    match args.action {
        Action::Put { key, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            let definition = FormDefinition::parse(&value)
                .map_err(|errors| super::field_errors(Some(&file), errors))?;
            let created = store.save_form(&key, &definition).await?;
            println!(
                "form '{key}' {}; it posts to /f/{key}, and `leadgate form embed {key}` prints its snippet",
                if created { "created" } else { "replaced" }
            );
        }
        Action::List => {
            for form in store.forms().await? {
                println!(
                    "{:<24} /f/{:<24} {} fields  {}",
                    form.key,
                    form.key,
                    form.definition.fields.len(),
                    form.definition.title
                );
            }
        }
        Action::Embed { key, base_url } => {
            let form = store.form(&key).await?;
            print!(
                "{}",
                form.definition
                    .embed(&format!("{}/f/{key}", base_url.trim_end_matches('/')))
            );
        }
    }
    store.close().await;
    Ok(())
}
