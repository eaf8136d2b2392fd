//! Conversion models as use cases: closed leads read as training examples, training with
//! a champion/challenger contest, and open leads predicted with the product's active model
//! (loaded once per server and rechecked against the store).

use crate::{AppError, Result};
use chrono::{DateTime, Utc};
use leadgate_core::conversion_model::ModelStatus;
use leadgate_core::id::LeadId;
use leadgate_core::Stage;
use leadgate_ml::model::{Evaluation, Example, Model, Predictor, Settings};
use leadgate_ml::{LeadHistory, MlError, Observation, Reason};
use leadgate_store::{
    facts, to_micros, ModelRecord, NewModel, OwnedEvent, PredictionSnapshot, Store, StoredLead,
};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How long a server trusts its cached active model before asking the store again.
const MODEL_RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// Leads read per page when training or predicting a whole product.
const PAGE: i64 = 1000;

/// One lead's prediction, with the features that pushed it up and down.
#[derive(Debug, Clone, Serialize)]
pub struct LeadPrediction {
    pub lead_id: LeadId,
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

#[derive(Clone)]
struct CachedModel {
    checked: Instant,
    model: Option<(i64, Arc<Predictor>)>,
}

/// The models of one store. Cheap to clone; clones share the loaded models.
#[derive(Clone)]
pub struct Models {
    store: Store,
    /// The loaded active model per product (`None`: the product has none, or it cannot be
    /// loaded), dropped when these models train, import or activate one.
    loaded: Arc<Mutex<HashMap<String, CachedModel>>>,
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

/// What the conversion model reads of an open lead at `now`; `None` when it is decided.
fn open_observation(
    lead: &StoredLead,
    events: &[OwnedEvent],
    now: DateTime<Utc>,
    excluded: &[String],
) -> Option<Observation> {
    if !is_open(lead) {
        return None;
    }
    let facts = facts(events);
    let h = history(lead, &facts);
    leadgate_ml::label(&h)
        .is_none()
        .then(|| leadgate_ml::observe(&h, now, excluded))
}

/// What the store keeps of a prediction, for lists sorted by priority.
fn snapshot(
    model_id: i64,
    (probability, expected_value, priority): (f64, f64, f64),
    at: DateTime<Utc>,
) -> PredictionSnapshot {
    PredictionSnapshot {
        probability,
        expected_value,
        priority,
        model_id,
        predicted_at: at,
    }
}

/// Training runs on a blocking thread: it takes seconds to minutes of CPU.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, MlError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| MlError::Training(e.to_string()))?
        .map_err(AppError::from)
}

impl Models {
    pub fn new(store: Store) -> Self {
        Models {
            store,
            loaded: Arc::default(),
        }
    }

    /// Every lead of the product read as of its cutoff: closed leads (won or lost) as
    /// examples, open ones counted.
    pub async fn training_set(
        &self,
        product: &str,
        mut progress: impl FnMut(usize),
    ) -> Result<TrainingSet> {
        let mut set = TrainingSet {
            after_outcome: self.store.after_outcome_fields().await?,
            ..TrainingSet::default()
        };
        let mut after = LeadId(0);
        loop {
            let page = self.store.leads_with_events(product, after, PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = last.id;
            for (lead, own) in &page {
                let facts = facts(own);
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
    pub async fn train(
        &self,
        product: &str,
        settings: &Settings,
        actor: &str,
        force: bool,
        progress: impl FnMut(usize),
    ) -> Result<ModelRecord> {
        let set = self.training_set(product, progress).await?;
        let champion = self.active(product).await?;
        let settings = settings.clone();
        let (model, mut evaluation, contest) = blocking(move || {
            let (model, evaluation) = leadgate_ml::train(&set.examples, &settings)?;
            let contest = champion.map(|(id, champion)| {
                (
                    id,
                    leadgate_ml::contest(&set.examples, &evaluation, &champion, &set.after_outcome),
                )
            });
            Ok((model, evaluation, contest))
        })
        .await?;
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
        let status = if promote {
            ModelStatus::Active
        } else {
            ModelStatus::Challenger
        };
        self.save(product, &model, &evaluation, actor, status).await
    }

    /// Evaluates on a time-based or stratified split without saving anything.
    pub async fn evaluate(
        &self,
        product: &str,
        settings: &Settings,
        progress: impl FnMut(usize),
    ) -> Result<Evaluation> {
        let set = self.training_set(product, progress).await?;
        let settings = settings.clone();
        blocking(move || leadgate_ml::evaluate(&set.examples, &settings)).await
    }

    async fn save(
        &self,
        product: &str,
        model: &Model,
        evaluation: &serde_json::Value,
        actor: &str,
        status: ModelStatus,
    ) -> Result<ModelRecord> {
        let body = serde_json::to_string(model).map_err(|e| MlError::BadModel(e.to_string()))?;
        let new = NewModel {
            format_version: model.format_version,
            algorithm: &model.algorithm,
            trained_on: model.trained_on,
            window_from: model.window_from,
            window_to: model.window_to,
            body: &body,
        };
        let record = self
            .store
            .save_model(product, &new, evaluation, actor, status)
            .await?;
        self.forget(product);
        Ok(record)
    }

    fn forget(&self, product: &str) {
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.remove(product);
        }
    }

    /// Makes an earlier model the active one again, once it loads.
    pub async fn activate(&self, id: i64) -> Result<ModelRecord> {
        Predictor::load(&self.store.model_body(id).await?)?;
        let record = self.store.activate_model(id).await?;
        self.forget(&record.product);
        Ok(record)
    }

    /// Stores a model file saved elsewhere and makes it active, after checking it loads.
    pub async fn import(&self, product: &str, json: &str, actor: &str) -> Result<ModelRecord> {
        let predictor = Predictor::load(json)?;
        let evaluation = serde_json::json!({"imported": true});
        self.save(
            product,
            &predictor.model,
            &evaluation,
            actor,
            ModelStatus::Active,
        )
        .await
    }

    /// The product's active model, loaded (cached). Another server may train or activate a
    /// model: a cached answer older than `MODEL_RECHECK` is checked against the store's
    /// active id (a small query) and reloaded only when it changed. A model that no longer
    /// loads (saved by another format version) is skipped with a warning: the rule score
    /// carries on.
    pub async fn active(&self, product: &str) -> Result<Option<(i64, Arc<Predictor>)>> {
        let cached = self
            .loaded
            .lock()
            .ok()
            .and_then(|c| c.get(product).cloned());
        if let Some(entry) = &cached {
            if entry.checked.elapsed() < MODEL_RECHECK {
                return Ok(entry.model.clone());
            }
        }
        let loaded = match (self.store.active_model_id(product).await?, cached) {
            (None, _) => None,
            (Some(id), Some(entry)) if entry.model.as_ref().map(|m| m.0) == Some(id) => entry.model,
            (Some(id), _) => match Predictor::load(&self.store.model_body(id).await?) {
                Ok(p) => Some((id, Arc::new(p))),
                Err(e) => {
                    tracing::warn!(model = id, error = %e, "the active model cannot be used; leads keep their rule scores");
                    None
                }
            },
        };
        if let Ok(mut cache) = self.loaded.lock() {
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
        let Some((model_id, predictor)) = self.active(product).await? else {
            return Ok(None);
        };
        let now = to_micros(now);
        let excluded = self.store.after_outcome_fields().await?;
        let mut after = LeadId(0);
        let mut scored = 0;
        loop {
            let page = self.store.leads_with_events(product, after, PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = last.id;
            let (open, observations): (Vec<LeadId>, Vec<Observation>) = page
                .iter()
                .filter_map(|(lead, own)| {
                    open_observation(lead, own, now, &excluded).map(|o| (lead.id, o))
                })
                .unzip();
            let refs: Vec<&Observation> = observations.iter().collect();
            let predictions: Vec<(LeadId, PredictionSnapshot)> = open
                .iter()
                .zip(predictor.predict(&refs))
                .map(|(id, p)| {
                    let values = (p.probability, p.expected_value, p.priority);
                    (*id, snapshot(model_id, values, now))
                })
                .collect();
            self.store.save_predictions(&predictions).await?;
            scored += open.len();
            progress(page.len());
        }
        Ok(Some(scored))
    }

    /// One lead's prediction at `now` with the features that pushed it up and down, read
    /// only: nothing is stored (a page view or a GET must not wait for the writer). `None`
    /// when its product has no usable model or the lead is closed.
    pub async fn prediction(
        &self,
        id: LeadId,
        now: DateTime<Utc>,
    ) -> Result<Option<LeadPrediction>> {
        let now = to_micros(now);
        let (lead, own) = self.store.lead_with_events(id).await?;
        let Some((model_id, predictor)) = self.active(&lead.lead.product_line()).await? else {
            return Ok(None);
        };
        let excluded = self.store.after_outcome_fields().await?;
        let Some(observation) = open_observation(&lead, &own, now, &excluded) else {
            return Ok(None);
        };
        Ok(predictor
            .predict(&[&observation])
            .pop()
            .map(|p| LeadPrediction {
                lead_id: id,
                model_id,
                probability: p.probability,
                expected_value: p.expected_value,
                value_basis: p.value_basis,
                priority: p.priority,
                reasons: predictor.explain(&observation),
            }))
    }

    /// `prediction`, stored on the lead (for lists sorted by priority).
    pub async fn predict_lead(
        &self,
        id: LeadId,
        now: DateTime<Utc>,
    ) -> Result<Option<LeadPrediction>> {
        let now = to_micros(now);
        let prediction = self.prediction(id, now).await?;
        if let Some(p) = &prediction {
            let values = (p.probability, p.expected_value, p.priority);
            let stored = snapshot(p.model_id, values, now);
            self.store.save_predictions(&[(id, stored)]).await?;
        }
        Ok(prediction)
    }

    /// Rescores a lead now (moving it if its MQL status changed) and predicts it afresh.
    pub async fn refresh(&self, id: LeadId, now: DateTime<Utc>) -> Result<StoredLead> {
        let lead = crate::qualify::refresh_lead(&self.store, id, now).await?;
        self.repredicted(lead, now).await
    }

    /// A lead as stored after a change, predicted afresh when its product has a model (a
    /// new or changed lead is predicted on arrival).
    pub async fn repredicted(&self, lead: StoredLead, now: DateTime<Utc>) -> Result<StoredLead> {
        if self.active(&lead.lead.product_line()).await?.is_none() {
            return Ok(lead);
        }
        self.predict_lead(lead.id, now).await?;
        Ok(self.store.lead(lead.id).await?)
    }
}
