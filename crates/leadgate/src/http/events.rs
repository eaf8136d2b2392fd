//! `POST /events`: a batch of up to 1,000 events, stored in one transaction, answered per item.

use crate::http::body::{BodyLimit, JsonBatch};
use crate::http::error::{ApiError, Problem};
use crate::http::{Actor, AppState};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Json, Router};
use chrono::Utc;
use leadgate_core::{EventDraft, FieldError};
use leadgate_store::{AppendOutcome, MAX_BATCH};
use serde::Serialize;
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

/// `{"events": [...]}`.
#[allow(dead_code)] // Documents the body; items are validated one by one.
#[derive(ToSchema)]
pub struct EventBatch {
    events: Vec<EventInput>,
}

/// One event: `lead_id` or `external_id` names the lead.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct EventInput {
    lead_id: Option<i64>,
    external_id: Option<String>,
    /// form_submitted, page_viewed, content_downloaded, email_opened, email_clicked,
    /// webinar_attended, meeting_booked, call_logged, note_added, field_changed,
    /// stage_changed, owner_assigned, outcome_recorded or custom.
    #[schema(rename = "type")]
    event_type: String,
    /// RFC 3339; defaults to now; at most 24 hours in the future.
    occurred_at: Option<String>,
    /// Where the event was observed (e.g. website, zoom).
    source: Option<String>,
    /// At most 32 KiB.
    #[schema(value_type = Object)]
    payload: Option<Value>,
    /// An event whose key was stored before is answered `duplicate` and not stored again.
    idempotency_key: Option<String>,
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
    JsonBatch(mut body): JsonBatch,
) -> Result<Json<BatchResult>, ApiError> {
    if let Some(key) = body.keys().find(|k| *k != "events") {
        return Err(ApiError::invalid(
            key,
            "is not part of an event batch; send {\"events\": [...]}",
        ));
    }
    let events = match body.remove("events") {
        Some(Value::Array(events)) => events,
        Some(other) => {
            return Err(ApiError::invalid(
                "events",
                format!(
                    "must be an array, not {}",
                    leadgate_core::source::json_kind(&other)
                ),
            ))
        }
        None => return Err(ApiError::invalid("events", "is required")),
    };
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
