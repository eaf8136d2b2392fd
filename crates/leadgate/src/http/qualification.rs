//! Qualification endpoints: a lead's score with its explanation, lifecycle moves, BANT
//! confirmations, and the versioned policy.

use crate::http::body::{not_null, Body};
use crate::http::error::{ApiError, Problem};
use crate::http::leads::{parse_id, LeadView};
use crate::http::{Actor, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use leadgate_app::{qualify, rescore};
use leadgate_core::openapi as schema;
use leadgate_core::policy::BantPart;
use leadgate_core::Stage;
use leadgate_store::{PolicyVersion, RescoreRun};
use serde::{Deserialize, Serialize};
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
        .route("/policies/{product}/rescore", get(get_rescore))
        .route("/policies/{product}/{version}", get(get_policy))
}

/// A lead's score now, under its product's policy, with every contributing rule.
#[derive(Serialize, ToSchema)]
pub struct ScoreView {
    pub lead_id: leadgate_core::id::LeadId,
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
    let scored = rescore::score_lead(&state.store, parse_id(&id)?, Utc::now()).await?;
    Ok(Json(ScoreView {
        lead_id: scored.lead_id,
        product: scored.product,
        policy_version: scored.policy_version,
        score: serde_json::to_value(&scored.score).map_err(|e| ApiError::Internal(Box::new(e)))?,
    }))
}

/// `{"to": "sal", "reason": "...", "override_bant": false}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    /// The stage to move to.
    #[schema(schema_with = schema::stage)]
    to: Stage,
    /// Required to disqualify or recycle (from the policy's lists), to reopen, to mark an MQL
    /// the rule does not pass, and to override BANT.
    #[schema(max_length = 500)]
    reason: Option<String>,
    /// Qualify as SQL although BANT does not satisfy the policy (needs a reason).
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = bool, nullable = false)]
    override_bant: Option<bool>,
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
    Body(input): Body<TransitionInput>,
) -> Result<Json<LeadView>, ApiError> {
    let id = parse_id(&id)?;
    if input
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 500)
    {
        return Err(ApiError::invalid("reason", "is longer than 500 characters"));
    }
    let lead = qualify::move_lead(
        &state.store,
        &state.models,
        id,
        input.to,
        input.reason.as_deref(),
        input.override_bant.unwrap_or(false),
        &actor.0,
    )
    .await?;
    Ok(Json(LeadView::from(&lead)))
}

/// `{"junk": false, "reason": "real customer, shared inbox"}`: a person's verdict.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JunkInput {
    /// true flags the lead as junk (reason code `manual`); false clears every flag.
    junk: bool,
    /// Why, 1 to 500 characters (not only spaces); kept in the event.
    #[schema(min_length = 1, max_length = 500, pattern = r"[^\s\u0085]")]
    reason: String,
}

/// Flag a lead as junk or clear its flags, by a person's decision. Junk never becomes an MQL
/// (an MQL flagged as junk moves back to lead); cleared leads are qualified as usual.
#[utoipa::path(put, path = "/api/v1/leads/{id}/junk", tag = "qualification",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = JunkInput,
    responses((status = 200, description = "Recorded as a field_changed event", body = LeadView),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn review_junk(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(input): Body<JunkInput>,
) -> Result<Json<LeadView>, ApiError> {
    let id = parse_id(&id)?;
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::invalid(
            "reason",
            "is required: why, in 1 to 500 characters",
        ));
    }
    let lead = qualify::review_junk(
        &state.store,
        &state.models,
        id,
        input.junk,
        reason,
        &actor.0,
    )
    .await?;
    Ok(Json(LeadView::from(&lead)))
}

/// `{"budget": true, "authority": false}`: parts a rep confirmed (true) or withdrew (false);
/// at least one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BantInput {
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = bool, nullable = false)]
    budget: Option<bool>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = bool, nullable = false)]
    authority: Option<bool>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = bool, nullable = false)]
    need: Option<bool>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = bool, nullable = false)]
    timeline: Option<bool>,
}

#[utoipa::path(put, path = "/api/v1/leads/{id}/bant", tag = "qualification",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = BantInput,
    responses((status = 200, description = "Recorded as one field_changed event (field bant, the confirmed parts before and after)", body = LeadView),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn confirm_bant(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(input): Body<BantInput>,
) -> Result<Json<LeadView>, ApiError> {
    let id = parse_id(&id)?;
    let changes: Vec<(BantPart, bool)> = [
        (BantPart::Budget, input.budget),
        (BantPart::Authority, input.authority),
        (BantPart::Need, input.need),
        (BantPart::Timeline, input.timeline),
    ]
    .into_iter()
    .filter_map(|(part, given)| given.map(|b| (part, b)))
    .collect();
    if changes.is_empty() {
        return Err(ApiError::invalid(
            "budget",
            "give at least one of budget, authority, need, timeline",
        ));
    }
    let lead = qualify::confirm_bant(&state.store, &state.models, id, &changes, &actor.0).await?;
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
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyInput {
    /// The policy (see docs/policy.md); mistakes are named by line.
    document: String,
    /// Why it changes, kept with the version.
    message: String,
}

/// A pass rescoring every lead of a product under its policy, in the background.
#[derive(Serialize, ToSchema)]
pub struct RescoreView {
    pub product: String,
    /// The version applied when the pass started.
    pub policy_version: i64,
    /// The product's leads when the pass started.
    pub total: i64,
    /// Leads rescored so far.
    pub done: i64,
    pub became_mql: i64,
    pub left_mql: i64,
    pub started_at: DateTime<Utc>,
    /// When the last lead was rescored (or a newer policy's pass took over); null while it
    /// runs.
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<RescoreRun> for RescoreView {
    fn from(run: RescoreRun) -> Self {
        RescoreView {
            started_at: run.started_at(),
            finished_at: run.finished_at(),
            product: run.product,
            policy_version: run.policy_version,
            total: run.total,
            done: run.done,
            became_mql: run.became_mql,
            left_mql: run.left_mql,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Applied {
    pub policy: PolicyView,
    /// Every lead of the product is rescored in the background: follow it at
    /// `GET /api/v1/policies/{product}/rescore`.
    pub rescore: RescoreView,
}

async fn latest_rescore(state: &AppState, product: &str) -> Result<RescoreView, ApiError> {
    state
        .store
        .latest_rescore(product)
        .await?
        .map(RescoreView::from)
        .ok_or_else(|| ApiError::NotFound(format!("no policy was applied to product '{product}'")))
}

#[utoipa::path(post, path = "/api/v1/policies", tag = "qualification",
    request_body = ApplyInput,
    responses((status = 201, description = "Stored as the next version; every lead of its product is rescored in the background", body = Applied),
              (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 422, description = "Mistakes in the document, each as `document:LINE`", body = Problem)),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(actor = %actor.0))]
async fn apply_policy(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<ApplyInput>,
) -> Result<(StatusCode, Json<Applied>), ApiError> {
    let stored = state
        .store
        .apply_policy(&input.document, &actor.0, &input.message)
        .await?;
    let rescore = latest_rescore(&state, &stored.product).await?;
    Ok((
        StatusCode::CREATED,
        Json(Applied {
            policy: stored.into(),
            rescore,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/policies/{product}/rescore", tag = "qualification",
    params(("product" = String, Path, description = "Product line, e.g. default")),
    responses((status = 200, description = "The product's latest rescoring pass: leads done of its total, MQLs gained and lost, finished or not", body = RescoreView),
              (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn get_rescore(
    State(state): State<AppState>,
    Path(product): Path<String>,
) -> Result<Json<RescoreView>, ApiError> {
    Ok(Json(latest_rescore(&state, &product).await?))
}

/// `{"document": "<TOML>", "capacity_per_week": 50}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BacktestInput {
    /// The candidate policy.
    document: String,
    /// Sales capacity in MQLs per week: the report then suggests the threshold that fits it.
    #[schema(exclusive_minimum = 0.0)]
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
    Body(input): Body<BacktestInput>,
) -> Result<Json<Value>, ApiError> {
    let capacity = input.capacity_per_week;
    if capacity.is_some_and(|c| c <= 0.0) {
        return Err(ApiError::invalid(
            "capacity_per_week",
            "must be a number of MQLs per week above 0",
        ));
    }
    let candidate = leadgate_core::policy::Policy::parse(&input.document)
        .map_err(|e| ApiError::from(leadgate_store::StoreError::Policy(e)))?;
    let report = rescore::backtest(&state.store, &candidate, capacity, Utc::now(), |_| {}).await?;
    Ok(Json(
        serde_json::to_value(report).map_err(|e| ApiError::Internal(Box::new(e)))?,
    ))
}

/// `{"document": "...", "days": 30}`: what the automation rules of a candidate policy (or,
/// without a document, of the policy in force for `product`) would have done on the events
/// of the last `days` days, judged on each lead as it is now. Changes nothing.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunInput {
    /// A candidate policy; without it, the one in force for `product`.
    document: Option<String>,
    /// The product line (default `default`).
    #[schema(min_length = 1, pattern = r"[^\s\u0085]")]
    product: Option<String>,
    /// How many days of events to replay (default 30).
    #[schema(minimum = 1, maximum = 365)]
    #[serde(default, deserialize_with = "days_back")]
    days: Option<i64>,
}

/// 1 to 365 days, checked as the body is read so it is named with any other bad field.
fn days_back<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    match Option::<i64>::deserialize(deserializer) {
        Ok(days) if days.is_none_or(|d| (1..=365).contains(&d)) => Ok(days),
        _ => Err(serde::de::Error::custom(
            "must be a whole number from 1 to 365",
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/policies/automation-dry-run", tag = "qualification",
    request_body = DryRunInput,
    responses((status = 200, description = "events_scanned, fired per rule, hits", body = Object),
              (status = 422, description = "Mistakes in the document or the fields", body = Problem)),
    security(("api_key" = [])))]
async fn automation_dry_run(
    State(state): State<AppState>,
    Body(input): Body<DryRunInput>,
) -> Result<Json<Value>, ApiError> {
    let days = input.days.unwrap_or(30);
    let product = crate::http::models::product_line(input.product.as_deref())?;
    let policy = match input.document.as_deref() {
        Some(document) => std::sync::Arc::new(
            leadgate_core::policy::Policy::parse(document)
                .map_err(|e| ApiError::from(leadgate_store::StoreError::Policy(e)))?,
        ),
        None => state.store.active_policy(&product).await?.policy,
    };
    let since = Utc::now() - chrono::Duration::days(days);
    let dry = leadgate_app::automation::dry_run(&state.store, &policy, since, 100_000).await?;
    Ok(Json(
        serde_json::to_value(dry).map_err(|e| ApiError::Internal(Box::new(e)))?,
    ))
}
