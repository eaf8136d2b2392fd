//! Webhook subscriptions over the API: make (the secret is shown once), list, pause and
//! resume, the delivery log, and replaying an event.

use crate::http::body::JsonBody;
use crate::http::body::{checked_limit, Body, Query};
use crate::http::error::{ApiError, Problem};
use crate::http::{path_id, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use leadgate_core::webhook::WebhookInput;
use leadgate_store::{Delivery, Webhook};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list_webhooks).post(create_webhook))
        .route("/webhooks/{id}/{action}", post(set_active))
        .route("/webhooks/{id}/deliveries", get(deliveries))
        .route("/webhooks/{id}/replay", post(replay))
}

/// `{"url": "https://...", "events": ["stage_changed", "sla_breached"], "description": "..."}`
/// (`["*"]` for every event). The answer holds the signing secret, shown only here.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body(content = Object, description = "url, events, description"),
    responses((status = 201, description = "The subscription with its secret", body = Object), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn create_webhook(
    State(state): State<AppState>,
    JsonBody(input): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input = WebhookInput::parse(&input).map_err(ApiError::Invalid)?;
    if let Some(reason) =
        crate::jobs::webhook::refused_target(&input.url, state.webhook_allow_private).await
    {
        return Err(ApiError::invalid("url", reason));
    }
    let (webhook, secret) = state.store.create_webhook(&input).await?;
    let mut body = serde_json::to_value(&webhook).unwrap_or_default();
    body["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    #[schema(value_type = Vec<Object>)]
    webhooks: Vec<Webhook>,
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = WebhookList)), security(("api_key" = [])))]
async fn list_webhooks(State(state): State<AppState>) -> Result<Json<WebhookList>, ApiError> {
    Ok(Json(WebhookList {
        webhooks: state.store.webhooks().await?,
    }))
}

/// `pause` or `resume` a subscription (deliveries queued while paused are logged as such).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/{action}", tag = "webhooks",
    params(("id" = i64, Path), ("action" = String, Path, description = "pause or resume")),
    responses((status = 200, body = Object), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn set_active(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<Webhook>, ApiError> {
    let active = match action.as_str() {
        "pause" => false,
        "resume" => true,
        other => {
            return Err(ApiError::NotFound(format!(
                "'{other}' is not a webhook action; use pause or resume"
            )))
        }
    };
    Ok(Json(
        state
            .store
            .set_webhook_active(path_id(&id, "webhook")?, active)
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    #[schema(value_type = Vec<Object>)]
    deliveries: Vec<Delivery>,
}

/// Every delivery attempt, newest first: status code, error, answer, time taken.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path), DeliveryQuery),
    responses((status = 200, body = DeliveryList), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn deliveries(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<DeliveryQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    let id = path_id(&id, "webhook")?;
    state.store.webhook(id).await?;
    Ok(Json(DeliveryList {
        deliveries: state
            .store
            .deliveries(id, checked_limit(query.limit)?)
            .await?,
    }))
}

/// `{"event_id": 123}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayInput {
    /// The id of a stored event.
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "crate::http::body::whole_number")]
    event_id: i64,
}

/// Sends that event to the subscription again.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/replay", tag = "webhooks",
    params(("id" = i64, Path)),
    request_body = ReplayInput,
    responses((status = 202, description = "Queued: job_id", body = Object), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn replay(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(input): Body<ReplayInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = path_id(&id, "webhook")?;
    let event_id = Some(input.event_id)
        .filter(|e| *e > 0)
        .ok_or_else(|| ApiError::invalid("event_id", "is required: the id of a stored event"))?;
    let job = state.store.replay_delivery(id, event_id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"job_id": job}))))
}
