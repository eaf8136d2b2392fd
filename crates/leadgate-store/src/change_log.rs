//! Counts kept by triggers as an append-only log of changes, folded into the counts now and
//! then (the analytics rollup, reps' open leads): appending never makes writers contend.

use crate::{on_tx, Result, Store, Tx};

/// A table of counts and the log of changes its triggers append to; both count in a
/// column `leads` (a count row at zero is removed).
pub(crate) struct ChangeLog {
    /// The folded counts.
    pub counts: &'static str,
    /// The appended changes.
    pub changes: &'static str,
    /// `INSERT INTO {counts} ... SELECT ... FROM CHANGES WHERE 1 = 1 GROUP BY ... ON
    /// CONFLICT ... DO UPDATE` adding the changes to the counts; `CHANGES` names their rows.
    pub upsert: String,
}

impl Store {
    /// Folds the log's pending changes into its counts; returns how many were folded.
    pub(crate) async fn fold(&self, log: &ChangeLog) -> Result<u64> {
        let mut tx = self.begin().await?;
        let folded = match &mut tx {
            // One writer at a time: nothing is appended between the fold and the delete.
            Tx::Sqlite(conn) => {
                sqlx::query(&log.upsert.replace("CHANGES", log.changes))
                    .execute(&mut **conn)
                    .await?;
                sqlx::query(&format!("DELETE FROM {}", log.changes))
                    .execute(&mut **conn)
                    .await?
                    .rows_affected()
            }
            // Deletes exactly the changes it folds (those committed when it starts); one
            // fold at a time, while writers go on appending.
            Tx::Postgres(conn) => {
                sqlx::query(&format!(
                    "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
                    log.counts
                ))
                .execute(&mut **conn)
                .await?;
                let folded: i64 = sqlx::query_scalar(&format!(
                    "WITH moved AS (DELETE FROM {} RETURNING *),
                     folded AS ({} RETURNING 1)
                     SELECT COUNT(*) FROM moved",
                    log.changes,
                    log.upsert
                        .replace("CHANGES", "moved")
                        .replace("SUM(leads)", "CAST(SUM(leads) AS BIGINT)")
                ))
                .fetch_one(&mut **conn)
                .await?;
                u64::try_from(folded).unwrap_or(0)
            }
        };
        on_tx!(&mut tx, conn => sqlx::query(&format!("DELETE FROM {} WHERE leads = 0", log.counts))
        .execute(conn)
        .await
        .map(|_| ()))?;
        tx.commit().await?;
        Ok(folded)
    }
}
