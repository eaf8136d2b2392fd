//! Importing a file's rows: each batch stored by the store, then the leads already stored
//! that the file says were won or lost closed the way a person's move closes them.

use crate::{qualify, Result};
use leadgate_store::{BatchRow, ImportRecord, Store};

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
