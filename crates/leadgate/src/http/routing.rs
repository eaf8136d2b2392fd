//! Routing and SLAs over the API: teams and their calendars, reps, assigning a lead by hand,
//! a lead's clocks, the running countdowns, and compliance for reports.

use crate::http::body::{checked_limit, not_null, Body, Checked, Query, Valid};
use crate::http::error::{ApiError, Problem};
use crate::http::leads::parse_id;
use crate::http::{Actor, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use leadgate_core::access::LeadScope;
use leadgate_core::calendar::BusinessCalendar;
use leadgate_core::openapi as schema;
use leadgate_core::{FieldError, FieldErrors};
use leadgate_store::{Compliance, Rep, RepInput, SlaClock, StoredLead, Team};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teams", get(list_teams))
        .route("/teams/{name}", put(put_team))
        .route("/reps", get(list_reps))
        .route("/reps/{name}", put(put_rep))
        .route("/leads/{id}/assign", post(assign))
        .route("/leads/{id}/clocks", get(lead_clocks))
        .route("/sla/clocks", get(running_clocks))
        .route("/sla/compliance", get(compliance))
}

fn created(new: bool) -> StatusCode {
    if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

#[derive(Serialize, ToSchema)]
pub struct TeamList {
    #[schema(value_type = Vec<Object>)]
    teams: Vec<Team>,
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "routing",
    responses((status = 200, body = TeamList)), security(("api_key" = [])))]
async fn list_teams(State(state): State<AppState>) -> Result<Json<TeamList>, ApiError> {
    Ok(Json(TeamList {
        teams: state.store.teams().await?,
    }))
}

/// `{"calendar": {"timezone": "Asia/Ho_Chi_Minh", "hours": {"mon": ["08:30-12:00",
/// "13:00-17:30"], ...}, "holidays": ["2026-02-17"]}, "manager": "lan"}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    /// Business hours: `timezone` (a tz database name), `hours` per weekday
    /// (`"HH:MM-HH:MM"` ranges), `holidays` (dates).
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = Object, required = true, nullable = false)]
    calendar: Option<Value>,
    /// The team's sales manager.
    #[schema(min_length = 1, pattern = r"[^\s\u0085]")]
    manager: Option<String>,
}

impl Checked for TeamInput {
    type Valid = (BusinessCalendar, Option<String>);
    fn check(&self) -> Result<Self::Valid, FieldErrors> {
        let mut errors = FieldErrors::default();
        let manager = filled("manager", &self.manager, &mut errors);
        let calendar = match &self.calendar {
            Some(value) => BusinessCalendar::parse(value, "calendar.")
                .map_err(|e| errors.0.extend(e.0))
                .ok(),
            None => {
                errors.push(FieldError::new("calendar", "is required"));
                None
            }
        };
        match calendar {
            Some(calendar) => errors.into_result((calendar, manager)),
            None => Err(errors),
        }
    }
}

/// A text field trimmed, and refused when given but blank.
fn filled(key: &str, given: &Option<String>, errors: &mut FieldErrors) -> Option<String> {
    let text = given.as_deref().map(str::trim)?;
    if text.is_empty() {
        errors.push(FieldError::new(key, "must not be empty"));
        return None;
    }
    Some(text.to_owned())
}

#[utoipa::path(put, path = "/api/v1/teams/{name}", tag = "routing",
    params(("name" = String, Path)),
    request_body = TeamInput,
    responses((status = 201, description = "Created", body = Object), (status = 200, description = "Replaced", body = Object), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn put_team(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Valid((calendar, manager)): Valid<TeamInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let new = state
        .store
        .put_team(&name, &calendar, manager.as_deref())
        .await?;
    Ok((
        created(new),
        Json(serde_json::json!({"name": name.trim(), "calendar": calendar, "manager": manager})),
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RepQuery {
    team: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RepList {
    #[schema(value_type = Vec<Object>)]
    reps: Vec<Rep>,
}

#[utoipa::path(get, path = "/api/v1/reps", tag = "routing", params(RepQuery),
    responses((status = 200, body = RepList)), security(("api_key" = [])))]
async fn list_reps(
    State(state): State<AppState>,
    Query(query): Query<RepQuery>,
) -> Result<Json<RepList>, ApiError> {
    Ok(Json(RepList {
        reps: state.store.reps(query.team.as_deref()).await?,
    }))
}

/// `{"team": "vn", "email": "...", "weight": 1, "daily_cap": 20, "away": false}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepBody {
    /// The rep's team (it must exist).
    #[serde(default, deserialize_with = "not_null")]
    #[schema(value_type = String, required = true, nullable = false, min_length = 1, pattern = r"[^\s\u0085]")]
    team: Option<String>,
    #[schema(min_length = 1, pattern = r"[^\s\u0085]")]
    email: Option<String>,
    /// Share of round-robin assignments (default 1).
    weight: Option<f64>,
    /// Most new leads a day.
    daily_cap: Option<i32>,
    /// Away reps get no new leads.
    away: Option<bool>,
}

impl Checked for RepBody {
    type Valid = RepInput;
    fn check(&self) -> Result<RepInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let team = filled("team", &self.team, &mut errors);
        let email = filled("email", &self.email, &mut errors);
        let Some(team) = team else {
            if self.team.is_none() {
                errors.push(FieldError::new("team", "is required"));
            }
            return Err(errors);
        };
        errors.into_result(RepInput {
            team,
            email,
            weight: self.weight.unwrap_or(1.0),
            daily_cap: self.daily_cap,
            away: self.away.unwrap_or(false),
        })
    }
}

#[utoipa::path(put, path = "/api/v1/reps/{name}", tag = "routing",
    params(("name" = String, Path)),
    request_body = RepBody,
    responses((status = 201, body = Object), (status = 200, body = Object), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn put_rep(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Valid(rep): Valid<RepBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let new = state.store.put_rep(&name, &rep).await?;
    Ok((
        created(new),
        Json(
            serde_json::json!({"name": name.trim(), "team": rep.team, "email": rep.email,
                                "weight": rep.weight, "daily_cap": rep.daily_cap, "away": rep.away}),
        ),
    ))
}

/// `{"owner": "binh", "reason": "an is on leave"}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// The rep's name: 1 to 100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    owner: String,
    /// Why, kept in the lead's history.
    #[schema(min_length = 1, pattern = r"[^\s\u0085]")]
    reason: String,
}

/// Gives the lead to another rep; the reason is required. Its running SLA clocks start
/// afresh for the new owner. A sales manager's key gives leads only to reps of its team
/// (403 otherwise), and may take leads nobody owns yet.
#[utoipa::path(post, path = "/api/v1/leads/{id}/assign", tag = "routing",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = AssignInput,
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn assign(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    scope: Option<Extension<LeadScope>>,
    Path(id): Path<String>,
    Body(input): Body<AssignInput>,
) -> Result<Json<Value>, ApiError> {
    let scope = scope.map_or(LeadScope::All, |Extension(scope)| scope);
    let id = parse_id(&id)?;
    let mut errors = FieldErrors::default();
    for (key, value) in [("owner", &input.owner), ("reason", &input.reason)] {
        if value.trim().is_empty() {
            errors.push(FieldError::new(key, "must not be empty"));
        }
    }
    errors.into_result(()).map_err(ApiError::Invalid)?;
    let lead: StoredLead = leadgate_app::route::reassign(
        &state.store,
        id,
        input.owner.trim(),
        input.reason.trim(),
        &actor.0,
        &scope,
    )
    .await?;
    Ok(Json(serde_json::json!({
        "lead_id": lead.id,
        "owner": lead.lead.owner.as_ref().map(|o| o.as_str()),
    })))
}

#[derive(Serialize, ToSchema)]
pub struct ClockList {
    #[schema(value_type = Vec<Object>)]
    clocks: Vec<SlaClock>,
}

/// A lead's SLA clocks, newest first, with the working time left on running ones.
#[utoipa::path(get, path = "/api/v1/leads/{id}/clocks", tag = "routing",
    params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, body = ClockList), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn lead_clocks(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClockList>, ApiError> {
    let id = parse_id(&id)?;
    if !state.store.lead_exists(id).await? {
        return Err(ApiError::NotFound(format!("lead {id} does not exist")));
    }
    Ok(Json(ClockList {
        clocks: state.store.lead_clocks(id, Utc::now()).await?,
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClockQuery {
    owner: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// Running clocks by deadline, the nearest (or most overdue) first: a rep's countdowns.
#[utoipa::path(get, path = "/api/v1/sla/clocks", tag = "routing", params(ClockQuery),
    responses((status = 200, body = ClockList)), security(("api_key" = [])))]
async fn running_clocks(
    State(state): State<AppState>,
    Query(query): Query<ClockQuery>,
) -> Result<Json<ClockList>, ApiError> {
    Ok(Json(ClockList {
        clocks: state
            .store
            .running_clocks(
                query.owner.as_deref(),
                checked_limit(query.limit)?,
                Utc::now(),
            )
            .await?,
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplianceQuery {
    /// owner (default), team, stage, rule, channel, temperature or grade.
    #[param(schema_with = compliance_group)]
    by: Option<String>,
    /// Clocks started at or after this time (RFC 3339).
    #[param(schema_with = schema::time)]
    from: Option<String>,
    /// Clocks started before this time (RFC 3339).
    #[param(schema_with = schema::time)]
    to: Option<String>,
}

fn compliance_group() -> utoipa::openapi::Object {
    schema::one_of(leadgate_store::COMPLIANCE_GROUPS)
}

#[derive(Serialize, ToSchema)]
pub struct ComplianceReport {
    by: String,
    #[schema(value_type = Vec<Object>)]
    groups: Vec<Compliance>,
}

/// SLA compliance per group: clocks, met, breached, running, and met / (met + breached).
#[utoipa::path(get, path = "/api/v1/sla/compliance", tag = "routing", params(ComplianceQuery),
    responses((status = 200, body = ComplianceReport), (status = 400, body = Problem)),
    security(("api_key" = [])))]
async fn compliance(
    State(state): State<AppState>,
    Query(query): Query<ComplianceQuery>,
) -> Result<Json<ComplianceReport>, ApiError> {
    let mut errors = FieldErrors::default();
    let mut time = |key: &str, raw: &Option<String>| -> Option<DateTime<Utc>> {
        let raw = raw.as_deref()?;
        DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                errors.push(FieldError::new(
                    key,
                    format!("is not an RFC 3339 time ({e})"),
                ))
            })
            .ok()
    };
    let from = time("from", &query.from);
    let to = time("to", &query.to);
    let by = query.by.unwrap_or_else(|| "owner".into());
    if !leadgate_store::COMPLIANCE_GROUPS.contains(&by.as_str()) {
        errors.push(FieldError::new(
            "by",
            format!("is one of {}", leadgate_store::COMPLIANCE_GROUPS.join(", ")),
        ));
    }
    errors.into_result(()).map_err(ApiError::BadQuery)?;
    let groups = state.store.sla_compliance(&by, from, to).await?;
    Ok(Json(ComplianceReport { by, groups }))
}
