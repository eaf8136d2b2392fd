//! Background work a server does beside answering requests.
//!
//! Rescoring: events arrive in batches and flag their leads as due (in the same transaction
//! as the events, so the flag survives a crash); this loop rescores due leads and moves
//! those whose MQL status changed. Several servers on one PostgreSQL database share the due
//! leads without taking the same one twice. Leads whose stored score is a day old are
//! marked due now and then, so decay alone moves them too.

use leadgate_store::Store;
use std::time::Duration;

/// How many due leads one pass takes.
const PASS: i64 = 500;
/// How old a stored score may grow before its lead is rescored anyway (decay moves leads
/// out of MQL with no new event).
const STALE_AFTER_HOURS: i64 = 24;
/// How often to look for such leads.
const STALE_CHECK: Duration = Duration::from_secs(600);

/// Runs until the task is dropped: rescores due leads, resting a second when none are due,
/// and now and then marks leads with day-old scores as due.
pub async fn rescore_due_leads(store: Store) {
    let mut last_stale_check: Option<std::time::Instant> = None;
    loop {
        if last_stale_check.is_none_or(|at| at.elapsed() >= STALE_CHECK) {
            last_stale_check = Some(std::time::Instant::now());
            let before = chrono::Utc::now() - chrono::Duration::hours(STALE_AFTER_HOURS);
            match store.flag_stale_scores(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(leads = n, "scores older than a day marked for rescoring"),
                Err(e) => tracing::warn!(error = %e, "cannot mark stale scores"),
            }
        }
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
