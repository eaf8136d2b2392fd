//! Qualification endpoints: a lead's score with its explanation, lifecycle moves, BANT
//! confirmations, and the versioned policy.

use crate::http::body::JsonObject;
use crate::http::error::{ApiError, Problem};
use crate::http::leads::{parse_id, LeadView};
use crate::http::{Actor, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use leadgate_core::policy::BantPart;
use leadgate_core::source::json_kind;
use leadgate_core::{FieldError, FieldErrors, Stage};
use leadgate_store::PolicyVersion;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/leads/{id}/score", get(lead_score))
        .route("/leads/{id}/transitions", post(transition))
        .route("/leads/{id}/bant", put(confirm_bant))
        .route("/leads/{id}/junk", put(review_junk))
        .route("/policies", get(list_policies).post(apply_policy))
        .route("/policies/backtest", post(backtest))
        .route("/policies/automation-dry-run", post(automation_dry_run))
        .route("/policies/{product}/{version}", get(get_policy))
}

/// A lead's score now, under its product's policy, with every contributing rule.
#[derive(Serialize, ToSchema)]
pub struct ScoreView {
    pub lead_id: i64,
    pub product: String,
    /// The policy version that scored it (0: the starter policy, none applied yet).
    pub policy_version: i64,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub score: Value,
}

#[utoipa::path(get, path = "/api/v1/leads/{id}/score", tag = "qualification",
    params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, description = "score, fit_points, behaviour_points, fit_grade, engagement, grade, temperature, intent, bant, mql and explanation", body = ScoreView),
              (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn lead_score(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ScoreView>, ApiError> {
    let scored = state.store.score_lead(parse_id(&id)?, Utc::now()).await?;
    Ok(Json(ScoreView {
        lead_id: scored.lead_id,
        product: scored.product,
        policy_version: scored.policy_version,
        score: serde_json::to_value(&scored.score).map_err(|e| ApiError::Internal(Box::new(e)))?,
    }))
}

/// `{"to": "sal", "reason": "...", "override_bant": false}`.
#[allow(dead_code)] // Documents the body; read field by field for named errors.
#[derive(ToSchema)]
pub struct TransitionInput {
    /// The stage to move to.
    to: String,
    /// Required to disqualify or recycle (from the policy's lists), to reopen, to mark an MQL
    /// the rule does not pass, and to override BANT.
    reason: Option<String>,
    /// Qualify as SQL although BANT does not satisfy the policy (needs a reason).
    override_bant: Option<bool>,
}

fn text_field<'a>(
    input: &'a serde_json::Map<String, Value>,
    key: &str,
    errors: &mut FieldErrors,
) -> Option<&'a str> {
    match input.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => {
            errors.push(FieldError::new(
                key,
                format!("must be a string, not {}", json_kind(other)),
            ));
            None
        }
    }
}

#[utoipa::path(post, path = "/api/v1/leads/{id}/transitions", tag = "qualification",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = TransitionInput,
    responses((status = 200, description = "Moved; recorded as a stage_changed event", body = LeadView),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "The lifecycle or the policy refuses the move; the reason names the stages and the rule", body = Problem),
              (status = 422, body = Problem)),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(actor = %actor.0, lead = %id))]
async fn transition(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    JsonObject(input): JsonObject,
) -> Result<Json<LeadView>, ApiError> {
    let id = parse_id(&id)?;
    let mut errors = FieldErrors::default();
    for key in input
        .keys()
        .filter(|k| !matches!(k.as_str(), "to" | "reason" | "override_bant"))
    {
        errors.push(FieldError::new(key.clone(), "is not part of a transition"));
    }
    let to = match text_field(&input, "to", &mut errors).map(str::parse::<Stage>) {
        Some(Ok(stage)) => Some(stage),
        Some(Err(e)) => {
            errors.push(FieldError::new("to", e.to_string()));
            None
        }
        None => {
            if !errors.0.iter().any(|e| e.field == "to") {
                errors.push(FieldError::new("to", "is required"));
            }
            None
        }
    };
    let reason = text_field(&input, "reason", &mut errors);
    if reason.is_some_and(|r| r.chars().count() > 500) {
        errors.push(FieldError::new("reason", "is longer than 500 characters"));
    }
    let override_bant = match input.get("override_bant") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            errors.push(FieldError::new(
                "override_bant",
                format!("must be true or false, not {}", json_kind(other)),
            ));
            false
        }
    };
    let Some(to) = to.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Invalid(errors));
    };
    let lead = state
        .store
        .transition(id, to, reason, override_bant, &actor.0)
        .await?;
    Ok(Json(LeadView::from(&lead)))
}

/// `{"junk": false, "reason": "real customer, shared inbox"}`: a person's verdict.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct JunkInput {
    /// true flags the lead as junk (reason code `manual`); false clears every flag.
    junk: bool,
    /// Why, 1 to 500 characters; kept in the event.
    reason: String,
}

/// Flag a lead as junk or clear its flags, by a person's decision. Junk never becomes an MQL
/// (an MQL flagged as junk moves back to lead); cleared leads are qualified as usual.
#[utoipa::path(put, path = "/api/v1/leads/{id}/junk", tag = "qualification",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = JunkInput,
    responses((status = 200, description = "Recorded as a field_changed event", body = LeadView),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn review_junk(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    JsonObject(input): JsonObject,
) -> Result<Json<LeadView>, ApiError> {
    let id = parse_id(&id)?;
    let mut errors = FieldErrors::default();
    let junk = match input.get("junk") {
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            errors.push(FieldError::new(
                "junk",
                format!("must be true or false, not {}", json_kind(other)),
            ));
            None
        }
        None => {
            errors.push(FieldError::new("junk", "is required: true or false"));
            None
        }
    };
    let reason = match input.get("reason").and_then(Value::as_str).map(str::trim) {
        Some(r) if !r.is_empty() && r.chars().count() <= 500 => Some(r.to_owned()),
        _ => {
            errors.push(FieldError::new(
                "reason",
                "is required: why, in 1 to 500 characters",
            ));
            None
        }
    };
    for key in input.keys().filter(|k| *k != "junk" && *k != "reason") {
        errors.push(FieldError::new(
            key.clone(),
            "is not a field of a junk verdict",
        ));
    }
    errors.into_result(()).map_err(ApiError::Invalid)?;
    let (Some(junk), Some(reason)) = (junk, reason) else {
        return Err(ApiError::invalid("junk", "is required"));
    };
    let lead = state.store.review_junk(id, junk, &reason, &actor.0).await?;
    Ok(Json(LeadView::from(&lead)))
}

/// `{"budget": true, "authority": false}`: parts a rep confirmed (true) or withdrew (false).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct BantInput {
    budget: Option<bool>,
    authority: Option<bool>,
    need: Option<bool>,
    timeline: Option<bool>,
}

#[utoipa::path(put, path = "/api/v1/leads/{id}/bant", tag = "qualification",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = BantInput,
    responses((status = 200, description = "Recorded; each change is a field_changed event", body = LeadView),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn confirm_bant(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    JsonObject(input): JsonObject,
) -> Result<Json<LeadView>, ApiError> {
    let id = parse_id(&id)?;
    let mut errors = FieldErrors::default();
    let mut changes = Vec::new();
    for (key, value) in &input {
        match (BantPart::from_name(key), value) {
            (Some(part), Value::Bool(b)) => changes.push((part, *b)),
            (Some(_), other) => errors.push(FieldError::new(
                key.clone(),
                format!("must be true or false, not {}", json_kind(other)),
            )),
            (None, _) => errors.push(FieldError::new(
                key.clone(),
                "is not a BANT part; use budget, authority, need or timeline",
            )),
        }
    }
    if changes.is_empty() && errors.is_empty() {
        errors.push(FieldError::new(
            "budget",
            "give at least one of budget, authority, need, timeline",
        ));
    }
    errors.into_result(()).map_err(ApiError::Invalid)?;
    state.store.confirm_bant(id, &changes, &actor.0).await?;
    let lead = state.store.refresh_lead(id, Utc::now()).await?;
    Ok(Json(LeadView::from(&lead)))
}

/// One stored version of a product's policy.
#[derive(Serialize, ToSchema)]
pub struct PolicyView {
    pub product: String,
    pub version: i64,
    pub name: String,
    pub author: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
    /// The TOML document (see docs/policy.md).
    pub document: String,
}

impl From<PolicyVersion> for PolicyView {
    fn from(p: PolicyVersion) -> Self {
        let created_at = p.created_at();
        PolicyView {
            product: p.product,
            version: p.version,
            name: p.name,
            author: p.author,
            message: p.message,
            created_at,
            document: p.document,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PolicyList {
    /// Newest first within each product.
    pub policies: Vec<PolicyView>,
}

#[utoipa::path(get, path = "/api/v1/policies", tag = "qualification",
    responses((status = 200, body = PolicyList), (status = 401, body = Problem)),
    security(("api_key" = [])))]
async fn list_policies(State(state): State<AppState>) -> Result<Json<PolicyList>, ApiError> {
    let policies = state.store.policy_versions(None).await?;
    Ok(Json(PolicyList {
        policies: policies.into_iter().map(PolicyView::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/policies/{product}/{version}", tag = "qualification",
    params(("product" = String, Path, description = "Product line, e.g. default"), ("version" = i64, Path, description = "Version")),
    responses((status = 200, body = PolicyView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn get_policy(
    State(state): State<AppState>,
    Path((product, version)): Path<(String, String)>,
) -> Result<Json<PolicyView>, ApiError> {
    let version: i64 = version
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no policy version '{version}'")))?;
    Ok(Json(
        state.store.policy_version(&product, version).await?.into(),
    ))
}

/// `{"document": "<TOML>", "message": "why"}`.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ApplyInput {
    document: String,
    message: String,
}

#[derive(Serialize, ToSchema)]
pub struct Applied {
    pub policy: PolicyView,
    pub scored: usize,
    pub became_mql: usize,
    pub left_mql: usize,
}

#[utoipa::path(post, path = "/api/v1/policies", tag = "qualification",
    request_body = ApplyInput,
    responses((status = 201, description = "Stored as the next version and every lead of its product rescored", body = Applied),
              (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 422, description = "Mistakes in the document, each as `document:LINE`", body = Problem)),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(actor = %actor.0))]
async fn apply_policy(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    JsonObject(input): JsonObject,
) -> Result<(StatusCode, Json<Applied>), ApiError> {
    let mut errors = FieldErrors::default();
    let document = text_field(&input, "document", &mut errors);
    let message = text_field(&input, "message", &mut errors);
    for key in input
        .keys()
        .filter(|k| !matches!(k.as_str(), "document" | "message"))
    {
        errors.push(FieldError::new(
            key.clone(),
            "is not part of a policy change",
        ));
    }
    let (Some(document), Some(message)) = (document, message) else {
        for (key, value) in [("document", document), ("message", message)] {
            if value.is_none() && !errors.0.iter().any(|e| e.field == key) {
                errors.push(FieldError::new(key, "is required"));
            }
        }
        return Err(ApiError::Invalid(errors));
    };
    errors.into_result(()).map_err(ApiError::Invalid)?;
    let stored = state
        .store
        .apply_policy(document, &actor.0, message)
        .await?;
    let summary = state
        .store
        .rescore(&stored.product, Utc::now(), |_| {})
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Applied {
            policy: stored.into(),
            scored: summary.scored,
            became_mql: summary.became_mql,
            left_mql: summary.left_mql,
        }),
    ))
}

/// `{"document": "<TOML>", "capacity_per_week": 50}`.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct BacktestInput {
    /// The candidate policy.
    document: String,
    /// Sales capacity in MQLs per week: the report then suggests the threshold that fits it.
    capacity_per_week: Option<f64>,
}

#[utoipa::path(post, path = "/api/v1/policies/backtest", tag = "qualification",
    request_body = BacktestInput,
    responses((status = 200, description = "The candidate and the policy in force side by side: MQLs, MQL->SQL and MQL->won rates, precision and recall against outcomes, per channel and source class, leads that change status, and suggested thresholds", body = Object),
              (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 422, description = "Mistakes in the document, each as `document:LINE`", body = Problem)),
    security(("api_key" = [])))]
async fn backtest(
    State(state): State<AppState>,
    JsonObject(input): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let mut errors = FieldErrors::default();
    let document = text_field(&input, "document", &mut errors);
    let capacity = match input.get("capacity_per_week") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_f64().is_some_and(|c| c > 0.0) => n.as_f64(),
        Some(_) => {
            errors.push(FieldError::new(
                "capacity_per_week",
                "must be a number of MQLs per week above 0",
            ));
            None
        }
    };
    for key in input
        .keys()
        .filter(|k| !matches!(k.as_str(), "document" | "capacity_per_week"))
    {
        errors.push(FieldError::new(key.clone(), "is not part of a backtest"));
    }
    if document.is_none() && !errors.0.iter().any(|e| e.field == "document") {
        errors.push(FieldError::new("document", "is required"));
    }
    let Some(document) = document.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Invalid(errors));
    };
    let candidate = leadgate_core::policy::Policy::parse(document)
        .map_err(|e| ApiError::from(leadgate_store::StoreError::Policy(e)))?;
    let report = state
        .store
        .backtest(&candidate, capacity, Utc::now(), |_| {})
        .await?;
    Ok(Json(
        serde_json::to_value(report).map_err(|e| ApiError::Internal(Box::new(e)))?,
    ))
}

/// `{"document": "...", "days": 30}`: what the automation rules of a candidate policy (or,
/// without a document, of the policy in force for `product`) would have done on the events
/// of the last `days` days, judged on each lead as it is now. Changes nothing.
#[utoipa::path(post, path = "/api/v1/policies/automation-dry-run", tag = "qualification",
    request_body(content = Object, description = "document (optional), product, days (1-365, default 30)"),
    responses((status = 200, description = "events_scanned, fired per rule, hits", body = Object),
              (status = 422, description = "Mistakes in the document or the fields", body = Problem)),
    security(("api_key" = [])))]
async fn automation_dry_run(
    State(state): State<AppState>,
    JsonObject(input): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let mut errors = FieldErrors::default();
    let document = text_field(&input, "document", &mut errors);
    let product = text_field(&input, "product", &mut errors).unwrap_or("default");
    let days = match input.get("days") {
        None | Some(Value::Null) => 30,
        Some(Value::Number(n)) if n.as_i64().is_some_and(|d| (1..=365).contains(&d)) => {
            n.as_i64().unwrap_or(30)
        }
        Some(_) => {
            errors.push(FieldError::new(
                "days",
                "must be a whole number from 1 to 365",
            ));
            30
        }
    };
    for key in input
        .keys()
        .filter(|k| !matches!(k.as_str(), "document" | "product" | "days"))
    {
        errors.push(FieldError::new(key.clone(), "is not part of a dry run"));
    }
    errors.into_result(()).map_err(ApiError::Invalid)?;
    let policy = match document {
        Some(document) => std::sync::Arc::new(
            leadgate_core::policy::Policy::parse(document)
                .map_err(|e| ApiError::from(leadgate_store::StoreError::Policy(e)))?,
        ),
        None => state.store.active_policy(product).await?.policy,
    };
    let dry = state
        .store
        .automation_dry_run(&policy, Utc::now() - chrono::Duration::days(days), 100_000)
        .await?;
    Ok(Json(
        serde_json::to_value(dry).map_err(|e| ApiError::Internal(Box::new(e)))?,
    ))
}
