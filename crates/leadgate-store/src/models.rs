//! Conversion models in the store: closed leads read as training examples, models saved
//! with their evaluation (one active per product), and open leads' predictions kept on the
//! lead for lists sorted by priority.

use crate::leads::StoredLead;
use crate::qualification::{facts, OwnedEvent};
use crate::time::{to_micros, Ts};
use crate::{on_pool, on_read_pool, on_tx, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::Stage;
use leadgate_ml::model::{Evaluation, Example, Model, Predictor, Settings};
use leadgate_ml::{LeadHistory, MlError, Observation, Reason};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The loaded active model per product (`None`: the product has none, or it cannot be
/// loaded), dropped when this store trains, imports or activates one.
pub(crate) type ModelCache = Arc<Mutex<HashMap<String, CachedModel>>>;

#[derive(Clone)]
pub(crate) struct CachedModel {
    checked: Instant,
    model: Option<(i64, Arc<Predictor>)>,
}

/// How long a server trusts its cached active model before asking the store again.
const MODEL_RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// A stored model without its body.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRecord {
    pub id: i64,
    pub product: String,
    /// active; challenger (trained, but did worse than the active one on the same leads);
    /// or retired (a newer one took over). Any can be activated.
    pub status: String,
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
    status: String,
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

/// What the store holds for one lead's prediction, with the reasons when asked for.
#[derive(Debug, Clone, Serialize)]
pub struct LeadPrediction {
    pub lead_id: i64,
    pub model_id: i64,
    pub probability: f64,
    pub expected_value: f64,
    pub value_basis: String,
    pub priority: f64,
    pub reasons: Vec<Reason>,
}

/// Closed and open leads read from the store.
#[derive(Default)]
pub struct TrainingSet {
    pub examples: Vec<Example>,
    pub open: usize,
    /// Fields imports declared as filled in after the outcome (left out).
    pub after_outcome: Vec<String>,
}

fn is_open(lead: &StoredLead) -> bool {
    !matches!(lead.lead.stage, Stage::Customer | Stage::Disqualified)
}

fn history<'a>(
    lead: &'a StoredLead,
    facts: &'a [leadgate_core::scoring::EventFact<'a>],
) -> LeadHistory<'a> {
    LeadHistory {
        lead: &lead.lead,
        first_touch: &lead.first_touch,
        last_touch: &lead.last_touch,
        created_at: lead.created_at,
        junk_reasons: lead.junk.len(),
        events: facts,
    }
}

fn key_of(lead: &StoredLead) -> String {
    lead.lead
        .external_id
        .as_ref()
        .map_or_else(|| lead.id.to_string(), |e| e.as_str().to_owned())
}

impl Tx {
    async fn after_outcome_fields(&mut self) -> Result<Vec<String>> {
        Ok(
            on_tx!(self, conn => sqlx::query_scalar("SELECT field FROM after_outcome_fields ORDER BY field")
            .fetch_all(conn)
            .await)?,
        )
    }

    async fn save_prediction(
        &mut self,
        lead_id: i64,
        model_id: i64,
        p: &leadgate_ml::Prediction,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_tx!(self, conn => sqlx::query(
            "UPDATE leads SET probability = $1, expected_value = $2, priority = $3, model_id = $4, predicted_at = $5 WHERE id = $6",
        )
        .bind(p.probability)
        .bind(p.expected_value)
        .bind(p.priority)
        .bind(model_id)
        .bind(Ts(now))
        .bind(lead_id)
        .execute(conn)
        .await
        .map(|_| ()))?;
        Ok(())
    }
}

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

    /// Every lead of the product read as of its cutoff: closed leads (won or lost) as
    /// examples, open ones counted.
    pub async fn training_set(
        &self,
        product: &str,
        mut progress: impl FnMut(usize),
    ) -> Result<TrainingSet> {
        let mut tx = self.begin_read().await?;
        let mut set = TrainingSet {
            after_outcome: tx.after_outcome_fields().await?,
            ..TrainingSet::default()
        };
        let mut after = 0i64;
        loop {
            let page = tx.leads_of_product(product, after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let ids: Vec<i64> = page.iter().map(|l| l.id).collect();
            let mut events = tx.events_of(&ids).await?;
            for lead in &page {
                let own: Vec<OwnedEvent> = events.remove(&lead.id).unwrap_or_default();
                let facts = facts(&own);
                let h = history(lead, &facts);
                match leadgate_ml::label(&h) {
                    Some(label) => set.examples.push(Example {
                        key: key_of(lead),
                        observation: leadgate_ml::observe(&h, label.cutoff, &set.after_outcome),
                        won: label.won,
                        at: label.cutoff,
                        value: label.value,
                    }),
                    None => set.open += 1,
                }
            }
            progress(page.len());
        }
        Ok(set)
    }

    /// Trains on the product's closed leads. The new model replaces the one in use when it
    /// wins the contest on the same held-out leads (`leadgate_ml::contest`), or when
    /// `force`d, or when there is none; otherwise it is kept as a `challenger` beside it
    /// (activate it by hand). Either way the evaluation records the contest. A failure (too
    /// few outcomes, one class...) leaves the model in use as it was.
    pub async fn train_model(
        &self,
        product: &str,
        settings: &Settings,
        actor: &str,
        force: bool,
        progress: impl FnMut(usize),
    ) -> Result<ModelRecord> {
        let set = self.training_set(product, progress).await?;
        let champion = self.active_model(product).await?;
        let settings = settings.clone();
        let (model, mut evaluation, contest) = tokio::task::spawn_blocking(move || {
            let (model, evaluation) = leadgate_ml::train(&set.examples, &settings)?;
            let contest = champion.map(|(id, champion)| {
                (
                    id,
                    leadgate_ml::contest(&set.examples, &evaluation, &champion, &set.after_outcome),
                )
            });
            Ok::<_, MlError>((model, evaluation, contest))
        })
        .await
        .map_err(|e| MlError::Training(e.to_string()))??;
        evaluation.test_keys.clear();
        let mut evaluation =
            serde_json::to_value(&evaluation).map_err(|e| MlError::BadModel(e.to_string()))?;
        let promote = match &contest {
            None => true,
            Some((champion, contest)) => {
                evaluation["contest"] = serde_json::json!({
                    "champion": champion,
                    "forced": force && !contest.challenger_wins,
                    "result": contest,
                });
                force || contest.challenger_wins
            }
        };
        let status = if promote { "active" } else { "challenger" };
        self.save_model(product, &model, evaluation, actor, status)
            .await
    }

    /// Evaluates on a time-based or stratified split without saving anything.
    pub async fn evaluate_model(
        &self,
        product: &str,
        settings: &Settings,
        progress: impl FnMut(usize),
    ) -> Result<Evaluation> {
        let set = self.training_set(product, progress).await?;
        let settings = settings.clone();
        Ok(
            tokio::task::spawn_blocking(move || leadgate_ml::evaluate(&set.examples, &settings))
                .await
                .map_err(|e| MlError::Training(e.to_string()))??,
        )
    }

    /// Saves a model as `active` (retiring the one in use) or as a `challenger` beside it.
    async fn save_model(
        &self,
        product: &str,
        model: &Model,
        evaluation: serde_json::Value,
        actor: &str,
        status: &str,
    ) -> Result<ModelRecord> {
        let body = serde_json::to_string(model).map_err(|e| MlError::BadModel(e.to_string()))?;
        let now = Ts(to_micros(Utc::now()));
        let mut tx = self.begin().await?;
        if status == "active" {
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
        .bind(model.format_version as i32)
        .bind(&model.algorithm)
        .bind(model.trained_on as i64)
        .bind(model.window_from.map(Ts))
        .bind(model.window_to.map(Ts))
        .bind(evaluation.to_string())
        .bind(body)
        .bind(actor)
        .bind(now)
        .bind(status)
        .fetch_one(conn)
        .await)?;
        tx.commit().await?;
        self.forget_model(product);
        self.model(id).await
    }

    fn forget_model(&self, product: &str) {
        if let Ok(mut cache) = self.models.lock() {
            cache.remove(product);
        }
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

    /// Makes an earlier model the active one again, once it loads.
    pub async fn activate_model(&self, id: i64) -> Result<ModelRecord> {
        let record = self.model(id).await?;
        Predictor::load(&self.model_body(id).await?)?;
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, conn => sqlx::query("UPDATE models SET status = CASE WHEN id = $1 THEN 'active' ELSE 'retired' END WHERE product = $2")
            .bind(id)
            .bind(&record.product)
            .execute(conn)
            .await
            .map(|_| ()))?;
        tx.commit().await?;
        self.forget_model(&record.product);
        self.model(id).await
    }

    /// Stores a model file saved elsewhere and makes it active, after checking it loads.
    pub async fn import_model(
        &self,
        product: &str,
        json: &str,
        actor: &str,
    ) -> Result<ModelRecord> {
        let predictor = Predictor::load(json)?;
        let evaluation = serde_json::json!({"imported": true});
        self.save_model(product, &predictor.model, evaluation, actor, "active")
            .await
    }

    /// The product's active model, loaded (cached). Another server may train or activate a
    /// model: a cached answer older than `MODEL_RECHECK` is checked against the store's
    /// active id (a small query) and reloaded only when it changed. A model that no longer
    /// loads (saved by another format version) is skipped with a warning: the rule score
    /// carries on.
    pub async fn active_model(&self, product: &str) -> Result<Option<(i64, Arc<Predictor>)>> {
        let cached = self
            .models
            .lock()
            .ok()
            .and_then(|c| c.get(product).cloned());
        if let Some(entry) = &cached {
            if entry.checked.elapsed() < MODEL_RECHECK {
                return Ok(entry.model.clone());
            }
        }
        let active: Option<i64> = on_read_pool!(self, pool => sqlx::query_scalar(
            "SELECT id FROM models WHERE product = $1 AND status = 'active' ORDER BY id DESC LIMIT 1",
        )
        .bind(product)
        .fetch_optional(pool)
        .await)?;
        let loaded = match (active, cached) {
            (None, _) => None,
            (Some(id), Some(entry)) if entry.model.as_ref().map(|m| m.0) == Some(id) => entry.model,
            (Some(id), _) => match Predictor::load(&self.model_body(id).await?) {
                Ok(p) => Some((id, Arc::new(p))),
                Err(e) => {
                    tracing::warn!(model = id, error = %e, "the active model cannot be used; leads keep their rule scores");
                    None
                }
            },
        };
        if let Ok(mut cache) = self.models.lock() {
            cache.insert(
                product.to_owned(),
                CachedModel {
                    checked: Instant::now(),
                    model: loaded.clone(),
                },
            );
        }
        Ok(loaded)
    }

    /// Predicts every open lead of the product with its active model and stores the
    /// predictions. Returns how many, or `None` when the product has no usable model.
    pub async fn predict_open(
        &self,
        product: &str,
        now: DateTime<Utc>,
        mut progress: impl FnMut(usize),
    ) -> Result<Option<usize>> {
        let Some((model_id, predictor)) = self.active_model(product).await? else {
            return Ok(None);
        };
        let now = to_micros(now);
        let excluded = self.begin_read().await?.after_outcome_fields().await?;
        let mut after = 0i64;
        let mut scored = 0;
        loop {
            let mut read = self.begin_read().await?;
            let page = read.leads_of_product(product, after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let ids: Vec<i64> = page.iter().map(|l| l.id).collect();
            let mut events = read.events_of(&ids).await?;
            drop(read);
            let mut open = Vec::new();
            let mut observations: Vec<Observation> = Vec::new();
            for lead in page.iter().filter(|l| is_open(l)) {
                let own = events.remove(&lead.id).unwrap_or_default();
                let facts = facts(&own);
                let h = history(lead, &facts);
                if leadgate_ml::label(&h).is_none() {
                    observations.push(leadgate_ml::observe(&h, now, &excluded));
                    open.push(lead.id);
                }
            }
            let refs: Vec<&Observation> = observations.iter().collect();
            let predictions = predictor.predict(&refs);
            let mut tx = self.begin().await?;
            for (id, p) in open.iter().zip(&predictions) {
                tx.save_prediction(*id, model_id, p, now).await?;
            }
            tx.commit().await?;
            scored += open.len();
            progress(page.len());
        }
        Ok(Some(scored))
    }

    /// One lead's prediction at `now` with the features that pushed it up and down; stored
    /// on the lead. `None` when its product has no usable model or the lead is closed.
    pub async fn predict_lead(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<LeadPrediction>> {
        let now = to_micros(now);
        let lead = self.lead(id).await?;
        let Some((model_id, predictor)) = self.active_model(&lead.lead.product_line()).await?
        else {
            return Ok(None);
        };
        if !is_open(&lead) {
            return Ok(None);
        }
        let mut tx = self.begin().await?;
        let excluded = tx.after_outcome_fields().await?;
        let own = tx.events_of(&[id]).await?.remove(&id).unwrap_or_default();
        let facts = facts(&own);
        let h = history(&lead, &facts);
        if leadgate_ml::label(&h).is_some() {
            return Ok(None);
        }
        let observation = leadgate_ml::observe(&h, now, &excluded);
        let Some(p) = predictor.predict(&[&observation]).pop() else {
            return Ok(None);
        };
        tx.save_prediction(id, model_id, &p, now).await?;
        tx.commit().await?;
        Ok(Some(LeadPrediction {
            lead_id: id,
            model_id,
            probability: p.probability,
            expected_value: p.expected_value,
            value_basis: p.value_basis,
            priority: p.priority,
            reasons: predictor.explain(&observation),
        }))
    }
}

impl From<MlError> for StoreError {
    fn from(e: MlError) -> Self {
        StoreError::Model(e)
    }
}
