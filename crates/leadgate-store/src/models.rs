//! Conversion models in the store: models saved with their evaluation (one active per
//! product), the closed and open leads they learn from and predict, and open leads'
//! predictions kept on the lead for lists sorted by priority. Training and predicting are
//! the use cases' (`leadgate-app`); this is persistence only.

use crate::leads::{PredictionSnapshot, StoredLead};
use crate::qualification::OwnedEvent;
use crate::time::{to_micros, Ts};
use crate::{on_pool, on_read_pool, on_tx, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use leadgate_core::conversion_model::ModelStatus;
use leadgate_core::id::LeadId;
use serde::Serialize;

/// A stored model without its body.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRecord {
    pub id: i64,
    pub product: String,
    pub status: ModelStatus,
    pub format_version: i64,
    pub algorithm: String,
    pub trained_on: i64,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    pub evaluation: serde_json::Value,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ModelRow {
    id: i64,
    product: String,
    #[sqlx(try_from = "String")]
    status: ModelStatus,
    format_version: i32,
    algorithm: String,
    trained_on: i64,
    window_from: Option<Ts>,
    window_to: Option<Ts>,
    evaluation: String,
    created_by: String,
    created_at: Ts,
}

impl From<ModelRow> for ModelRecord {
    fn from(r: ModelRow) -> Self {
        ModelRecord {
            id: r.id,
            product: r.product,
            status: r.status,
            format_version: i64::from(r.format_version),
            algorithm: r.algorithm,
            trained_on: r.trained_on,
            window_from: r.window_from.map(|t| t.0),
            window_to: r.window_to.map(|t| t.0),
            evaluation: serde_json::from_str(&r.evaluation).unwrap_or(serde_json::Value::Null),
            created_by: r.created_by,
            created_at: r.created_at.0,
        }
    }
}

const MODEL_COLUMNS: &str = "id, product, status, format_version, algorithm, trained_on, \
                             window_from, window_to, evaluation, created_by, created_at";

/// A model to save: what the models table records of it, and its body (the model file).
pub struct NewModel<'a> {
    pub format_version: u32,
    pub algorithm: &'a str,
    pub trained_on: usize,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    pub body: &'a str,
}

/// A page of a product's leads, each with its events, as models read them.
pub type LeadsWithEvents = Vec<(StoredLead, Vec<OwnedEvent>)>;

impl Store {
    /// Records fields an import declared as filled in after the outcome.
    pub async fn declare_after_outcome(&self, fields: &[String], by: &str) -> Result<()> {
        let now = Ts(to_micros(Utc::now()));
        for field in fields {
            let name = if field.starts_with("custom.") {
                field.clone()
            } else {
                format!("custom.{field}")
            };
            on_pool!(self, pool => sqlx::query(
                "INSERT INTO after_outcome_fields (field, declared_by, declared_at) VALUES ($1, $2, $3) ON CONFLICT (field) DO NOTHING",
            )
            .bind(name)
            .bind(by)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()))?;
        }
        Ok(())
    }

    /// Fields imports declared as filled in after the outcome, which no model may read.
    pub async fn after_outcome_fields(&self) -> Result<Vec<String>> {
        Ok(on_read_pool!(self, pool => sqlx::query_scalar(
            "SELECT field FROM after_outcome_fields ORDER BY field"
        )
        .fetch_all(pool)
        .await)?)
    }

    /// Up to `limit` of the product's leads with ids above `after`, in id order, each with
    /// its events (read in one transaction, so a lead and its events agree).
    pub async fn leads_with_events(
        &self,
        product: &str,
        after: LeadId,
        limit: i64,
    ) -> Result<LeadsWithEvents> {
        let mut read = self.begin_read().await?;
        let page = read.leads_of_product(product, after, limit).await?;
        let ids: Vec<LeadId> = page.iter().map(|l| l.id).collect();
        let mut events = read.events_of(&ids).await?;
        Ok(page
            .into_iter()
            .map(|lead| {
                let own = events.remove(&lead.id).unwrap_or_default();
                (lead, own)
            })
            .collect())
    }

    /// One lead with its events.
    pub async fn lead_with_events(&self, id: LeadId) -> Result<(StoredLead, Vec<OwnedEvent>)> {
        let mut read = self.begin_read().await?;
        let lead = read
            .lead(id, false)
            .await?
            .ok_or(StoreError::LeadNotFound(id))?;
        let own = read.events_of(&[id]).await?.remove(&id).unwrap_or_default();
        Ok((lead, own))
    }

    /// Saves a model as `active` (retiring the one in use) or as a `challenger` beside it.
    pub async fn save_model(
        &self,
        product: &str,
        model: &NewModel<'_>,
        evaluation: &serde_json::Value,
        actor: &str,
        status: ModelStatus,
    ) -> Result<ModelRecord> {
        let now = Ts(to_micros(Utc::now()));
        let mut tx = self.begin().await?;
        if status == ModelStatus::Active {
            on_tx!(&mut tx, conn => sqlx::query("UPDATE models SET status = 'retired' WHERE product = $1 AND status = 'active'")
                .bind(product)
                .execute(conn)
                .await
                .map(|_| ()))?;
        }
        let id: i64 = on_tx!(&mut tx, conn => sqlx::query_scalar(
            "INSERT INTO models (product, status, format_version, algorithm, trained_on, window_from, window_to, evaluation, body, created_by, created_at) \
             VALUES ($1, $11, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(product)
        .bind(i32::try_from(model.format_version).unwrap_or(i32::MAX))
        .bind(model.algorithm)
        .bind(i64::try_from(model.trained_on).unwrap_or(i64::MAX))
        .bind(model.window_from.map(Ts))
        .bind(model.window_to.map(Ts))
        .bind(evaluation.to_string())
        .bind(model.body)
        .bind(actor)
        .bind(now)
        .bind(status.as_str())
        .fetch_one(conn)
        .await)?;
        tx.commit().await?;
        self.model(id).await
    }

    pub async fn model(&self, id: i64) -> Result<ModelRecord> {
        let sql = format!("SELECT {MODEL_COLUMNS} FROM models WHERE id = $1");
        let row: Option<ModelRow> =
            on_read_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        row.map(ModelRecord::from)
            .ok_or_else(|| StoreError::NotFound(format!("no model has id {id}")))
    }

    /// A product's models, newest first.
    pub async fn models(&self, product: &str) -> Result<Vec<ModelRecord>> {
        let sql = format!("SELECT {MODEL_COLUMNS} FROM models WHERE product = $1 ORDER BY id DESC");
        let rows: Vec<ModelRow> =
            on_read_pool!(self, pool => sqlx::query_as(&sql).bind(product).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(ModelRecord::from).collect())
    }

    /// The saved model itself, as JSON (to keep or move to another store).
    pub async fn model_body(&self, id: i64) -> Result<String> {
        let body: Option<String> = on_read_pool!(self, pool => sqlx::query_scalar("SELECT body FROM models WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        body.ok_or_else(|| StoreError::NotFound(format!("no model has id {id}")))
    }

    /// The id of the product's active model, if it has one.
    pub async fn active_model_id(&self, product: &str) -> Result<Option<i64>> {
        Ok(on_read_pool!(self, pool => sqlx::query_scalar(
            "SELECT id FROM models WHERE product = $1 AND status = 'active' ORDER BY id DESC LIMIT 1",
        )
        .bind(product)
        .fetch_optional(pool)
        .await)?)
    }

    /// Products with an active model whose newest model (a challenger that lost counts: it
    /// was a retraining) was made before `before`: due for retraining.
    pub async fn models_older_than(&self, before: DateTime<Utc>) -> Result<Vec<String>> {
        Ok(on_read_pool!(self, pool => sqlx::query_scalar(
            "SELECT product FROM models GROUP BY product \
             HAVING MAX(created_at) < $1 AND SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) > 0 \
             ORDER BY product",
        )
        .bind(Ts(before))
        .fetch_all(pool)
        .await)?)
    }

    /// Makes a model the active one of its product, retiring the others.
    pub async fn activate_model(&self, id: i64) -> Result<ModelRecord> {
        let record = self.model(id).await?;
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, conn => sqlx::query("UPDATE models SET status = CASE WHEN id = $1 THEN 'active' ELSE 'retired' END WHERE product = $2")
            .bind(id)
            .bind(&record.product)
            .execute(conn)
            .await
            .map(|_| ()))?;
        tx.commit().await?;
        self.model(id).await
    }

    /// Keeps leads' latest predictions on them (for lists sorted by priority).
    pub async fn save_predictions(
        &self,
        predictions: &[(LeadId, PredictionSnapshot)],
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        for (lead_id, p) in predictions {
            on_tx!(&mut tx, conn => sqlx::query(
                "UPDATE leads SET probability = $1, expected_value = $2, priority = $3, model_id = $4, predicted_at = $5 WHERE id = $6",
            )
            .bind(p.probability)
            .bind(p.expected_value)
            .bind(p.priority)
            .bind(p.model_id)
            .bind(Ts(to_micros(p.predicted_at)))
            .bind(lead_id)
            .execute(conn)
            .await
            .map(|_| ()))?;
        }
        tx.commit().await?;
        Ok(())
    }
}
