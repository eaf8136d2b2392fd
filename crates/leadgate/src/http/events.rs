//! `POST /events`: a batch of up to 1,000 events, stored in one transaction, answered per item.

use crate::http::body::{Batch, BodyLimit};
use crate::http::error::{ApiError, Problem};
use crate::http::{Actor, AppState};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Json, Router};
use chrono::Utc;
use leadgate_core::event::EventRequest;
use leadgate_core::{EventDraft, FieldError};
use leadgate_store::{AppendOutcome, MAX_BATCH};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// A batch of 1,000 events with payloads is a few hundred kilobytes; allow generous payloads.
const EVENTS_BODY_LIMIT: usize = 16 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/events", post(append_events))
        .layer(DefaultBodyLimit::max(EVENTS_BODY_LIMIT))
        .layer(middleware::from_fn(
            |mut request: Request, next: Next| async move {
                request
                    .extensions_mut()
                    .insert(BodyLimit(EVENTS_BODY_LIMIT));
                let response: Response = next.run(request).await;
                response
            },
        ))
}

/// `{"events": [...]}`: 1 to 1,000 events, each checked on its own.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    #[schema(value_type = Vec<EventRequest>, min_items = 1, max_items = 1000)]
    events: Vec<Value>,
}

/// What became of one item.
#[derive(Serialize, ToSchema)]
pub struct ItemResult {
    /// Position of the item in the batch.
    pub index: usize,
    /// accepted, duplicate or rejected.
    pub status: &'static str,
    /// The new event's id, when accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<crate::http::error::ProblemField>>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchResult {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub results: Vec<ItemResult>,
}

#[utoipa::path(post, path = "/api/v1/events", tag = "events",
    request_body = EventBatch,
    responses(
        (status = 200, description = "Answered per item; the accepted ones are stored together", body = BatchResult),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 413, body = Problem), (status = 422, description = "Not a batch, or over 1,000 events", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(actor = %actor.0))]
async fn append_events(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Batch(EventBatch { events }): Batch<EventBatch>,
) -> Result<Json<BatchResult>, ApiError> {
    if events.is_empty() || events.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "events",
            format!("has {} items; a batch holds 1 to {MAX_BATCH}", events.len()),
        ));
    }
    let now = Utc::now();
    let items = events
        .iter()
        .map(|item| EventDraft::parse_item(item, now))
        .collect();
    let outcomes = state.store.append_events(items, &actor.0).await?;
    let mut result = BatchResult {
        accepted: 0,
        duplicates: 0,
        rejected: 0,
        results: Vec::with_capacity(outcomes.len()),
    };
    for (index, outcome) in outcomes.into_iter().enumerate() {
        let item = match outcome {
            AppendOutcome::Accepted { id } => {
                result.accepted += 1;
                ItemResult {
                    index,
                    status: "accepted",
                    id: Some(id),
                    errors: None,
                }
            }
            AppendOutcome::Duplicate => {
                result.duplicates += 1;
                ItemResult {
                    index,
                    status: "duplicate",
                    id: None,
                    errors: None,
                }
            }
            AppendOutcome::Rejected { errors } => {
                result.rejected += 1;
                ItemResult {
                    index,
                    status: "rejected",
                    id: None,
                    errors: Some(errors.into_iter().map(named(index)).collect()),
                }
            }
        };
        result.results.push(item);
    }
    metrics::counter!("leadgate_events_ingested_total").increment(result.accepted as u64);
    metrics::counter!("leadgate_events_duplicate_total").increment(result.duplicates as u64);
    metrics::counter!("leadgate_events_rejected_total").increment(result.rejected as u64);
    Ok(Json(result))
}

/// `type` of item 3 becomes `events[3].type`, so the client knows which item it is.
fn named(index: usize) -> impl Fn(FieldError) -> crate::http::error::ProblemField {
    move |e| {
        let field = if e.field.is_empty() {
            format!("events[{index}]")
        } else {
            format!("events[{index}].{}", e.field)
        };
        crate::http::error::ProblemField {
            field,
            reason: e.reason,
        }
    }
}
