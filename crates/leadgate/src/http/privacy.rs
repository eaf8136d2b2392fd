//! Consent per purpose on a lead's person, and GDPR export and erasure of a person.

use crate::http::body::{not_null, Checked, JsonObject, Valid};
use crate::http::error::{ApiError, Problem};
use crate::http::leads::parse_id;
use crate::http::{Actor, AppState};
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use leadgate_core::id::PersonId;
use leadgate_core::{Email, FieldError, FieldErrors};
use leadgate_store::{Consents, Erasure, NewConsent, Store};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

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
/// `{"purpose": "newsletter", "granted": true, "wording": "...", "source": "..."}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// Lower-case letters, digits and underscores (the rule of `privacy_purpose`); refusing
    /// `email` or `call` sets Do Not Email or Do Not Call.
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = String, required = true, nullable = false, pattern = "^[a-z0-9_]{1,64}$")]
    purpose: Option<String>,
    /// Given (true) or withdrawn (false).
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = bool, required = true, nullable = false)]
    granted: Option<bool>,
    /// The text the person agreed to.
    #[schema(max_length = 2000, pattern = r"[^\s\u0085]")]
    wording: Option<String>,
    /// Where it was given (default `api`).
    #[schema(max_length = 200, pattern = r"[^\s\u0085]")]
    source: Option<String>,
}

impl Checked for ConsentInput {
    type Valid = NewConsent;
    fn check(&self) -> Result<NewConsent, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut text = |key: &str, given: &Option<String>, max: usize| {
            let text = given.as_deref().map(str::trim)?;
            if text.is_empty() || text.chars().count() > max {
                errors.push(FieldError::new(
                    key,
                    format!("must be 1 to {max} characters"),
                ));
                return None;
            }
            Some(text.to_owned())
        };
        let wording = text("wording", &self.wording, 2000);
        let source = text("source", &self.source, 200);
        if let Some(Err(e)) = self.purpose.as_deref().map(leadgate_store::privacy_purpose) {
            errors.push(e);
        }
        let (Some(purpose), Some(granted)) = (&self.purpose, self.granted) else {
            for (key, absent) in [
                ("purpose", self.purpose.is_none()),
                ("granted", self.granted.is_none()),
            ] {
                if absent {
                    errors.push(FieldError::new(key, "is required"));
                }
            }
            return Err(errors);
        };
        errors.into_result(NewConsent {
            purpose: purpose.clone(),
            granted,
            wording,
            source: source.unwrap_or_else(|| "api".into()),
            ip: None,
        })
    }
}

/// Refusing `email` or `call` sets Do Not Email or Do Not Call.
#[utoipa::path(post, path = "/api/v1/leads/{id}/consents", tag = "privacy",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = ConsentInput,
    responses((status = 201, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn record_consent(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Valid(consent): Valid<ConsentInput>,
) -> Result<(axum::http::StatusCode, Json<Consents>), ApiError> {
    let id = parse_id(&id)?;
    let consents = state.store.record_consent(id, &consent, &actor.0).await?;
    Ok((axum::http::StatusCode::CREATED, Json(consents)))
}

/// Which person a GDPR request is about: `{"email": ...}`, `{"lead_id": ...}` or
/// `{"person_id": ...}`.
async fn person(store: &Store, input: &Map<String, Value>) -> Result<PersonId, ApiError> {
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
            .map(leadgate_core::id::LeadId)
            .ok_or_else(|| ApiError::invalid("lead_id", "must be a lead id"))?;
        return Ok(store.person_of_lead(id).await?);
    }
    match input.get("person_id").map(Value::as_i64) {
        Some(Some(id)) => Ok(PersonId(id)),
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
