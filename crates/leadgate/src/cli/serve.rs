//! `leadgate serve`: the API on the configured store.

use super::{BindArgs, StoreArgs};
use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    bind: BindArgs,
    #[command(flatten)]
    store: StoreArgs,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let listener = tokio::net::TcpListener::bind(args.bind.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind.bind))?;
    tracing::info!(address = %listener.local_addr()?, engine = ?store.engine(), "serving");
    let rescoring = tokio::spawn(crate::jobs::rescore_due_leads(store.clone()));
    crate::http::serve(store.clone(), listener, super::shutdown_signal()).await?;
    rescoring.abort();
    store.close().await;
    Ok(())
}
