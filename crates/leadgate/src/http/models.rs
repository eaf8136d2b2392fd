//! The conversion model over the API: train and predict as jobs, model versions with their
//! metrics and HTML report, activation, and one lead's prediction beside its rule score.

use crate::http::body::{Body, Query};
use crate::http::error::{ApiError, Problem};
use crate::http::leads::parse_id;
use crate::http::{path_id, AppState};
use crate::jobs::model::enqueue;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use leadgate_core::job::JobKind;
use leadgate_ml::model::Evaluation;
use leadgate_store::ModelRecord;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/models", get(list_models))
        .route("/models/train", post(train))
        .route("/models/predict", post(predict))
        .route("/models/{id}", get(get_model))
        .route("/models/{id}/report", get(report))
        .route("/models/{id}/activate", post(activate))
        .route("/leads/{id}/prediction", get(lead_prediction))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ProductQuery {
    /// The product line (default: `default`).
    product: Option<String>,
}

/// `{"product": "default"}`: the product line a training or prediction is for.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// The product line (default `default`).
    #[schema(min_length = 1, pattern = r"[^\s\u0085]")]
    product: Option<String>,
}

/// The product line a request names (`default` when it names none), as policies store it.
pub(crate) fn product_line(given: Option<&str>) -> Result<String, ApiError> {
    match given.map(str::trim) {
        None => Ok("default".into()),
        // A name of words: no control bytes (a NUL reached SQL and the job's payload).
        Some(p) if !p.is_empty() => leadgate_core::values::Text::parse(p, 100)
            .map(|p| p.as_str().to_lowercase())
            .map_err(|e| ApiError::invalid("product", e.to_string())),
        Some(_) => Err(ApiError::invalid(
            "product",
            "must be a product line's name",
        )),
    }
}

async fn queue(
    state: &AppState,
    kind: JobKind,
    input: &ProductInput,
) -> Result<Response, ApiError> {
    let product = product_line(input.product.as_deref())?;
    let id = enqueue(&state.store, kind, &product, None).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"job_id": id, "product": product, "kind": kind.as_str()})),
    )
        .into_response())
}

/// `{"product": "default"}`: trains the product's conversion model on its closed leads in
/// the background (GET /jobs/{job_id} follows it), makes it active and predicts open leads.
/// Too few outcomes: the job says so and the model in use stays.
#[utoipa::path(post, path = "/api/v1/models/train", tag = "models",
    request_body = ProductInput,
    responses((status = 202, body = Object), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn train(
    State(state): State<AppState>,
    Body(input): Body<ProductInput>,
) -> Result<Response, ApiError> {
    queue(&state, JobKind::TrainModel, &input).await
}

/// `{"product": "default"}`: predicts every open lead with the active model, in the
/// background.
#[utoipa::path(post, path = "/api/v1/models/predict", tag = "models",
    request_body = ProductInput,
    responses((status = 202, body = Object), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn predict(
    State(state): State<AppState>,
    Body(input): Body<ProductInput>,
) -> Result<Response, ApiError> {
    queue(&state, JobKind::PredictLeads, &input).await
}

/// A product's models, newest first, each with its test metrics (`evaluation`).
#[utoipa::path(get, path = "/api/v1/models", tag = "models", params(ProductQuery),
    responses((status = 200, body = Object)), security(("api_key" = [])))]
async fn list_models(
    State(state): State<AppState>,
    Query(q): Query<ProductQuery>,
) -> Result<Json<Value>, ApiError> {
    let product = product_line(q.product.as_deref())?;
    let models = state.store.models(&product).await?;
    Ok(Json(json!({"product": product, "models": models})))
}

#[utoipa::path(get, path = "/api/v1/models/{id}", tag = "models",
    params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn get_model(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ModelRecord>, ApiError> {
    Ok(Json(state.store.model(path_id(&id, "model")?).await?))
}

/// The model's evaluation as an HTML page with charts (gains, lift, calibration).
#[utoipa::path(get, path = "/api/v1/models/{id}/report", tag = "models",
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/html"), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn report(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = state.store.model(path_id(&id, "model")?).await?;
    report_page(&record).map_err(ApiError::NotFound)
}

/// A stored model's evaluation report as an HTML response; why not, for a model imported
/// from a file (it has no evaluation). The API's and the dashboard's.
pub(crate) fn report_page(record: &ModelRecord) -> Result<Response, String> {
    let evaluation: Evaluation =
        serde_json::from_value(record.evaluation.clone()).map_err(|_| {
            format!(
                "model {} was imported from a file and has no evaluation",
                record.id
            )
        })?;
    let title = format!("Conversion model {} ({})", record.id, record.product);
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        leadgate_ml::report::html(&evaluation, &title),
    )
        .into_response())
}

/// Makes an earlier model active again (refused if it no longer loads) and queues
/// predictions for the product's open leads.
#[utoipa::path(post, path = "/api/v1/models/{id}/activate", tag = "models",
    params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn activate(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ModelRecord>, ApiError> {
    let record = state.models.activate(path_id(&id, "model")?).await?;
    enqueue(&state.store, JobKind::PredictLeads, &record.product, None).await?;
    Ok(Json(record))
}

/// The model's won probability, expected value and priority for an open lead, with the
/// features that pushed it up and down, beside the rule score and its explanation. `model`
/// is null when the product has no model yet or the lead is closed.
#[utoipa::path(get, path = "/api/v1/leads/{id}/prediction", tag = "models",
    params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, body = Object), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn lead_prediction(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let now = Utc::now();
    let rules = leadgate_app::rescore::score_lead(&state.store, id, now).await?;
    let model = state.models.prediction(id, now).await?;
    Ok(Json(json!({
        "lead_id": id,
        "model": model,
        "rules": {"policy_version": rules.policy_version, "score": rules.score},
    })))
}
