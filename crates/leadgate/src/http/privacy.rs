//! Consent per purpose on a lead's person, and GDPR export and erasure of a person.

use crate::http::body::JsonObject;
use crate::http::error::{ApiError, Problem};
use crate::http::leads::parse_id;
use crate::http::{Actor, AppState};
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use leadgate_core::source::json_kind;
use leadgate_core::{Email, FieldError, FieldErrors};
use leadgate_store::{Consents, Erasure, NewConsent, Store};
use serde_json::{Map, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/leads/{id}/consents", get(consents).post(record_consent))
        .route("/gdpr/export", post(gdpr_export))
        .route("/gdpr/erase", post(gdpr_erase))
}

/// The person's consents: in force per purpose, the history, Do Not Email / Do Not Call.
#[utoipa::path(get, path = "/api/v1/leads/{id}/consents", tag = "privacy",
    params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, description = "person_id, do_not_email, do_not_call, current, history", body = Object), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn consents(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Consents>, ApiError> {
    let person = state.store.person_of_lead(parse_id(&id)?).await?;
    Ok(Json(state.store.consents(person).await?))
}

/// `{"purpose": "newsletter", "granted": true, "wording": "...", "source": "call with rep"}`.
/// Refusing `email` or `call` sets Do Not Email or Do Not Call.
#[utoipa::path(post, path = "/api/v1/leads/{id}/consents", tag = "privacy",
    params(("id" = i64, Path, description = "Lead id")),
    request_body(content = Object, description = "purpose, granted, wording, source"),
    responses((status = 201, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn record_consent(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    JsonObject(input): JsonObject,
) -> Result<(axum::http::StatusCode, Json<Consents>), ApiError> {
    let id = parse_id(&id)?;
    let mut errors = FieldErrors::default();
    let mut text = |key: &str, max: usize, required: bool| -> Option<String> {
        match input.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => {
                Some(s.trim().to_owned())
            }
            None | Some(Value::Null) if !required => None,
            Some(Value::String(_)) | None | Some(Value::Null) => {
                errors.push(FieldError::new(
                    key,
                    format!("must be 1 to {max} characters"),
                ));
                None
            }
            Some(other) => {
                errors.push(FieldError::new(
                    key,
                    format!("must be a string, not {}", json_kind(other)),
                ));
                None
            }
        }
    };
    let purpose = text("purpose", 64, true);
    let wording = text("wording", 2000, false);
    let source = text("source", 200, false);
    let granted = match input.get("granted") {
        Some(Value::Bool(b)) => Some(*b),
        _ => {
            errors.push(FieldError::new("granted", "is required: true or false"));
            None
        }
    };
    for key in input
        .keys()
        .filter(|k| !["purpose", "granted", "wording", "source"].contains(&k.as_str()))
    {
        errors.push(FieldError::new(key.clone(), "is not a field of a consent"));
    }
    if let Some(purpose) = &purpose {
        if let Err(e) = leadgate_store::privacy_purpose(purpose) {
            errors.push(e);
        }
    }
    errors.into_result(()).map_err(ApiError::Invalid)?;
    let (Some(purpose), Some(granted)) = (purpose, granted) else {
        return Err(ApiError::invalid("purpose", "is required"));
    };
    let consents = state
        .store
        .record_consent(
            id,
            &NewConsent {
                purpose,
                granted,
                wording,
                source: source.unwrap_or_else(|| "api".into()),
                ip: None,
            },
            &actor.0,
        )
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(consents)))
}

/// Which person a GDPR request is about: `{"email": ...}`, `{"lead_id": ...}` or
/// `{"person_id": ...}`.
async fn person(store: &Store, input: &Map<String, Value>) -> Result<i64, ApiError> {
    if let Some(email) = input.get("email") {
        let email = email
            .as_str()
            .and_then(|e| Email::parse(e).ok())
            .ok_or_else(|| ApiError::invalid("email", "is not an email address"))?;
        return Ok(store.person_by_email(&email).await?);
    }
    if let Some(lead) = input.get("lead_id") {
        let id = lead
            .as_i64()
            .ok_or_else(|| ApiError::invalid("lead_id", "must be a lead id"))?;
        return Ok(store.person_of_lead(id).await?);
    }
    match input.get("person_id").map(Value::as_i64) {
        Some(Some(id)) => Ok(id),
        Some(None) => Err(ApiError::invalid("person_id", "must be a person id")),
        None => Err(ApiError::invalid(
            "email",
            "name the person by email, lead_id or person_id",
        )),
    }
}

/// All data about a person as JSON (access request). Audited.
#[utoipa::path(post, path = "/api/v1/gdpr/export", tag = "privacy",
    request_body(content = Object, description = "email, lead_id or person_id"),
    responses((status = 200, description = "person, consents, leads, events", body = Object), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn gdpr_export(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    JsonObject(input): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let person = person(&state.store, &input).await?;
    Ok(Json(state.store.gdpr_export(person, &actor.0).await?))
}

/// Erase a person's data everywhere, event payloads included; anonymous counts stay.
/// Needs `"confirm": true`. Audited.
#[utoipa::path(post, path = "/api/v1/gdpr/erase", tag = "privacy",
    request_body(content = Object, description = "email, lead_id or person_id, and confirm: true"),
    responses((status = 200, description = "What was erased", body = Object), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn gdpr_erase(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    JsonObject(input): JsonObject,
) -> Result<Json<Erasure>, ApiError> {
    if input.get("confirm") != Some(&Value::Bool(true)) {
        return Err(ApiError::invalid(
            "confirm",
            "must be true: erasure cannot be undone",
        ));
    }
    let person = person(&state.store, &input).await?;
    Ok(Json(state.store.gdpr_erase(person, &actor.0).await?))
}
