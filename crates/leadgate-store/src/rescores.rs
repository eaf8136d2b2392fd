//! A product's rescoring pass as stored: how far it has got and what it has moved, advanced
//! page by page in the transactions that store each page's scores.

use crate::time::Ts;
use crate::{on_read_pool, on_tx, Conn, Result, Store, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::id::LeadId;

/// A pass over every lead of a product, under the policy in force.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RescoreRun {
    pub id: i64,
    pub product: String,
    /// The version applied when the pass started.
    pub policy_version: i64,
    /// The product's leads when the pass started (leads captured meanwhile are scored as
    /// they arrive, so `done` may end above it).
    pub total: i64,
    pub done: i64,
    /// The last lead scored: the next page starts after it.
    pub after_lead: LeadId,
    pub became_mql: i64,
    pub left_mql: i64,
    started_at: Ts,
    finished_at: Option<Ts>,
}

impl RescoreRun {
    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at.0
    }

    /// When the last page was scored, or when a newer pass of the product took over.
    pub fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.finished_at.map(|t| t.0)
    }
}

const COLUMNS: &str = "id, product, policy_version, total, done, after_lead, became_mql, left_mql, started_at, finished_at";

impl Tx {
    /// Starts a pass over every lead of `product`. A pass of the product still running ends
    /// here: the new one scores its leads too.
    pub(crate) async fn start_rescore(
        &mut self,
        product: &str,
        policy_version: i64,
        at: DateTime<Utc>,
    ) -> Result<RescoreRun> {
        on_tx!(self, conn => sqlx::query("UPDATE policy_rescores SET finished_at = $1 WHERE product = $2 AND finished_at IS NULL")
            .bind(Ts(at))
            .bind(product)
            .execute(conn)
            .await
            .map(|_| ()))?;
        let sql = format!(
            "INSERT INTO policy_rescores (product, policy_version, total, started_at)
             SELECT $1, $2, COUNT(*), $3 FROM leads WHERE product = $1
             RETURNING {COLUMNS}"
        );
        Ok(on_tx!(self, conn => sqlx::query_as(&sql)
            .bind(product)
            .bind(policy_version)
            .bind(Ts(at))
            .fetch_one(conn)
            .await)?)
    }

    /// A pass to work on, held until this transaction ends: pass `id` (waiting for another
    /// server's page of it), or else the oldest pass not finished that no other server holds.
    pub async fn open_rescore(&mut self, id: Option<i64>) -> Result<Option<RescoreRun>> {
        let postgres = matches!(self.conn, Conn::Postgres(_));
        let sql = match (id, postgres) {
            (Some(_), true) => format!("SELECT {COLUMNS} FROM policy_rescores WHERE id = $1 FOR UPDATE"),
            (Some(_), false) => format!("SELECT {COLUMNS} FROM policy_rescores WHERE id = $1"),
            (None, true) => format!("SELECT {COLUMNS} FROM policy_rescores WHERE finished_at IS NULL ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"),
            (None, false) => format!("SELECT {COLUMNS} FROM policy_rescores WHERE finished_at IS NULL ORDER BY id LIMIT 1"),
        };
        Ok(on_tx!(self, conn => {
            let query = sqlx::query_as(&sql);
            match id {
                Some(id) => query.bind(id),
                None => query,
            }
            .fetch_optional(conn)
            .await
        })?)
    }

    /// Moves a pass past a page of `scored` leads ending with `last`, of which `became_mql`
    /// became MQL and `left_mql` left it; `finished_at` when no lead is left after it.
    pub async fn advance_rescore(
        &mut self,
        id: i64,
        last: LeadId,
        (scored, became_mql, left_mql): (usize, usize, usize),
        finished_at: Option<DateTime<Utc>>,
    ) -> Result<RescoreRun> {
        let sql = format!(
            "UPDATE policy_rescores SET after_lead = $1, done = done + $2, became_mql = became_mql + $3,
                 left_mql = left_mql + $4, finished_at = $5
             WHERE id = $6 RETURNING {COLUMNS}"
        );
        Ok(on_tx!(self, conn => sqlx::query_as(&sql)
            .bind(last)
            .bind(scored as i64)
            .bind(became_mql as i64)
            .bind(left_mql as i64)
            .bind(finished_at.map(Ts))
            .bind(id)
            .fetch_one(conn)
            .await)?)
    }
}

impl Store {
    /// Starts a pass over every lead of `product` under the policy in force.
    pub async fn start_rescore(&self, product: &str, at: DateTime<Utc>) -> Result<RescoreRun> {
        let version = self.active_policy(product).await?.version;
        let mut tx = self.begin().await?;
        let run = tx.start_rescore(product, version, at).await?;
        tx.commit().await?;
        Ok(run)
    }

    /// The product's latest pass, finished or not.
    pub async fn latest_rescore(&self, product: &str) -> Result<Option<RescoreRun>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM policy_rescores WHERE product = $1 ORDER BY id DESC LIMIT 1"
        );
        Ok(
            on_read_pool!(self, pool => sqlx::query_as(&sql).bind(product).fetch_optional(pool).await)?,
        )
    }
}
