//! Background work a server does beside answering requests.
//!
//! Rescoring: events arrive in batches and flag their leads as due (in the same transaction
//! as the events, so the flag survives a crash); this loop rescores due leads and moves
//! those whose MQL status changed. Several servers on one PostgreSQL database share the due
//! leads without taking the same one twice.

use leadgate_store::Store;
use std::time::Duration;

/// How many due leads one pass takes.
const PASS: i64 = 500;

/// Runs until the task is dropped: rescores due leads, resting a second when none are due.
pub async fn rescore_due_leads(store: Store) {
    loop {
        match store.rescore_due(PASS, chrono::Utc::now()).await {
            Ok(0) => tokio::time::sleep(Duration::from_secs(1)).await,
            Ok(n) => tracing::debug!(leads = n, "rescored leads with new events"),
            Err(e) => {
                tracing::warn!(error = %e, "rescoring due leads failed; retrying in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}
