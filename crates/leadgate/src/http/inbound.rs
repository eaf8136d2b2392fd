//! Inbound email over the API: a relay (or a mail service's webhook) posts one raw message,
//! which becomes a lead or an `email_logged` event (see `leadgate_app::inbound`).

use crate::http::error::{ApiError, Problem};
use crate::http::{Actor, AppState};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use leadgate_core::inbound::MAX_MESSAGE_BYTES;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/inbound/email",
        // A message with its attachments is larger than a JSON body: one more byte than the
        // largest taken, so a larger one is refused by name rather than cut off.
        post(receive).layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES + 1)),
    )
}

/// The raw message (RFC 5322, as a mail server would deliver it) as the body. 201 when it
/// made a lead, 200 when it was logged on the sender's lead (or had been received before:
/// `logged` false). Refused (422, naming `message`, `from` or `to`) when it is not a
/// message, names no sender, or was not sent to an inbound address of this server.
#[utoipa::path(post, path = "/api/v1/inbound/email", tag = "leads",
    request_body(content = String, content_type = "message/rfc822", description = "The raw message"),
    responses(
        (status = 201, description = "A new lead: lead_id, created, logged", body = Object),
        (status = 200, description = "Logged on the sender's lead, or received before", body = Object),
        (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn receive(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let received = leadgate_app::inbound::receive(
        &state.store,
        &state.models,
        &body,
        &state.inbound_addresses,
        &actor.0,
    )
    .await?;
    let status = if received.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({
            "lead_id": received.lead.id,
            "created": received.created,
            "logged": received.logged,
            "bounced_email": received.bounced,
        })),
    ))
}
