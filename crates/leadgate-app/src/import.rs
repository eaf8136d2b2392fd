//! Importing a file's rows: each batch stored by the store, then the leads already stored
//! that the file says were won or lost closed the way a person's move closes them; at the
//! end, the people the file brought matched against those they could be.

use crate::{dedupe, qualify, Result};
use leadgate_store::{BatchRow, ImportRecord, Store};
use std::time::Duration;

/// How often a run says it is alive while it matches people (core's
/// `import::INTERRUPTED_AFTER_SECS` of silence and another run takes the import over).
const HEARTBEAT_EVERY: Duration = Duration::from_secs(30);

/// Stores a batch of an import's consecutive rows (the store reports rows it refuses), then
/// closes the open leads the rows say were won or lost (clocks stopped, the move in their
/// history). After the rows are in: a crash before the closing leaves them open, and
/// running the file again closes them then.
pub async fn store_batch(store: &Store, import_id: i64, rows: &[BatchRow]) -> Result<ImportRecord> {
    let (record, closing) = store.import_batch(import_id, rows).await?;
    let actor = format!("import:{import_id}");
    for lead in closing {
        qualify::settle_outcome(store, lead.lead_id, lead.won, &lead.reason, &actor).await?;
    }
    Ok(record)
}

/// Matches the people the import brought against those they could be (merging the sure
/// matches, suggesting the likely ones; each merge undoable on its own), then marks it
/// finished. A run killed before this is resumed to here.
pub async fn finish(store: &Store, import_id: i64) -> Result<ImportRecord> {
    let before = store.import_people_before(import_id).await?;
    // Matching a large file takes a while: the import keeps saying it is alive.
    let beating = store.clone();
    let heartbeat = tokio::spawn(async move {
        loop {
            tokio::time::sleep(HEARTBEAT_EVERY).await;
            if let Err(e) = beating.import_heartbeat(import_id).await {
                tracing::warn!(error = %e, import_id, "cannot record the import's heartbeat");
            }
        }
    });
    let matched = dedupe::match_imported(store, before, &format!("import:{import_id}")).await;
    heartbeat.abort();
    Ok(store.finish_import(import_id, &matched).await?)
}
