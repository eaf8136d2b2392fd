//! Conversion-model jobs: training (asked for over the API, or due because the active model
//! has grown old) and predicting a product's open leads.

use chrono::{Duration, Utc};
use leadgate_app::{AppError, Models};
use leadgate_core::job::JobKind;
use leadgate_ml::model::Settings;
use leadgate_store::{ClaimedJob, NewJob, Store, StoreError};
use serde_json::json;

/// Trains or predicts as the job says. Data the model cannot learn from (too few outcomes,
/// one class) finishes the job with a warning: trying again would not help, and the model
/// in use stays. Store errors are retried.
pub async fn perform(store: &Store, models: &Models, job: &ClaimedJob) {
    let product = job.payload["product"]
        .as_str()
        .unwrap_or("default")
        .to_owned();
    let outcome = match job.kind().ok() {
        Some(JobKind::TrainModel) => models
            .train(&product, &Settings::default(), "job", false, |_| {})
            .await
            .map(|m| {
                let contest = m.evaluation["contest"]["result"]["why"]
                    .as_str()
                    .unwrap_or("");
                tracing::info!(
                    model = m.id,
                    product,
                    status = m.status.as_str(),
                    contest,
                    "conversion model trained"
                );
            }),
        _ => Ok(()),
    };
    let outcome = match outcome {
        Ok(()) => models
            .predict_open(&product, Utc::now(), |_| {})
            .await
            .map(|n| tracing::info!(predicted = n, product, "open leads predicted")),
        Err(AppError::Model(e)) => {
            tracing::warn!(product, error = %e, "the conversion model was not trained");
            Ok(())
        }
        Err(e) => Err(e),
    };
    let recorded = match outcome {
        Ok(()) => store.finish_job(job, Utc::now()).await.map(|_| ()),
        Err(e) => {
            tracing::warn!(job = %job.id, error = %e, "model job failed");
            store
                .fail_job(job, &e.to_string(), Utc::now())
                .await
                .map(|_| ())
        }
    };
    if let Err(e) = recorded {
        tracing::warn!(job = %job.id, error = %e, "cannot record the model job's end");
    }
}

/// Queues a model job for a product.
pub async fn enqueue(
    store: &Store,
    kind: JobKind,
    product: &str,
    key: Option<String>,
) -> Result<Option<leadgate_core::id::JobId>, StoreError> {
    let mut job = NewJob::new(kind, json!({"product": product}), Utc::now());
    job.key = key;
    store.enqueue_job(&job).await
}

/// How often to look for models due for retraining.
const RETRAIN_CHECK: std::time::Duration = std::time::Duration::from_secs(3600);

/// Runs until dropped: retrains each product whose active model is older than `every` (one
/// job per product per day, however many servers look).
pub async fn retrain_when_due(store: Store, every: Duration) {
    loop {
        let now = Utc::now();
        match store.models_older_than(now - every).await {
            Ok(products) => {
                for product in products {
                    let key = format!("train_model:{product}:{}", now.format("%Y-%m-%d"));
                    if let Err(e) = enqueue(&store, JobKind::TrainModel, &product, Some(key)).await
                    {
                        tracing::warn!(product, error = %e, "cannot queue retraining");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot look for models due for retraining"),
        }
        tokio::time::sleep(RETRAIN_CHECK).await;
    }
}
