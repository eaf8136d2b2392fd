//! Routing and SLAs over the API: teams and their calendars, reps, assigning a lead by hand,
//! a lead's clocks, the running countdowns, and compliance for reports.

use crate::http::body::JsonObject;
use crate::http::body::{checked_limit, Body, Query};
use crate::http::error::{ApiError, Problem};
use crate::http::leads::parse_id;
use crate::http::{schema, Actor, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use leadgate_core::calendar::BusinessCalendar;
use leadgate_core::source::json_kind;
use leadgate_core::{FieldError, FieldErrors};
use leadgate_store::{Compliance, Rep, RepInput, SlaClock, StoredLead, Team};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
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

fn known_keys(input: &Map<String, Value>, known: &[&str], errors: &mut FieldErrors) {
    for key in input.keys() {
        if !known.contains(&key.as_str()) {
            errors.push(FieldError::new(
                key.clone(),
                format!("is not a field here; use {}", known.join(", ")),
            ));
        }
    }
}

fn optional_text(
    input: &Map<String, Value>,
    key: &str,
    errors: &mut FieldErrors,
) -> Option<String> {
    match input.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::String(_)) => {
            errors.push(FieldError::new(key, "must not be empty"));
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
#[utoipa::path(put, path = "/api/v1/teams/{name}", tag = "routing",
    params(("name" = String, Path)),
    request_body(content = Object, description = "calendar, manager"),
    responses((status = 201, description = "Created", body = Object), (status = 200, description = "Replaced", body = Object), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn put_team(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonObject(input): JsonObject,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut errors = FieldErrors::default();
    known_keys(&input, &["calendar", "manager"], &mut errors);
    let calendar = match input.get("calendar") {
        Some(value) => BusinessCalendar::parse(value, "calendar.")
            .map_err(|e| errors.0.extend(e.0))
            .ok(),
        None => {
            errors.push(FieldError::new("calendar", "is required"));
            None
        }
    };
    let manager = optional_text(&input, "manager", &mut errors);
    let calendar = errors.into_result(calendar).map_err(ApiError::Invalid)?;
    let Some(calendar) = calendar else {
        unreachable!("a missing calendar was reported")
    };
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
#[utoipa::path(put, path = "/api/v1/reps/{name}", tag = "routing",
    params(("name" = String, Path)),
    request_body(content = Object, description = "team, email, weight, daily_cap, away"),
    responses((status = 201, body = Object), (status = 200, body = Object), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn put_rep(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonObject(input): JsonObject,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut errors = FieldErrors::default();
    known_keys(
        &input,
        &["team", "email", "weight", "daily_cap", "away"],
        &mut errors,
    );
    let team = optional_text(&input, "team", &mut errors);
    if team.is_none() && !input.contains_key("team") {
        errors.push(FieldError::new("team", "is required"));
    }
    let email = optional_text(&input, "email", &mut errors);
    let weight = match input.get("weight") {
        None | Some(Value::Null) => 1.0,
        Some(Value::Number(n)) => n.as_f64().unwrap_or(-1.0),
        Some(other) => {
            errors.push(FieldError::new(
                "weight",
                format!("must be a number, not {}", json_kind(other)),
            ));
            1.0
        }
    };
    let daily_cap = match input.get("daily_cap") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_i64().and_then(|c| i32::try_from(c).ok()) {
            Some(c) => Some(c),
            None => {
                errors.push(FieldError::new("daily_cap", "must be a whole number"));
                None
            }
        },
        Some(other) => {
            errors.push(FieldError::new(
                "daily_cap",
                format!("must be a number, not {}", json_kind(other)),
            ));
            None
        }
    };
    let away = match input.get("away") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            errors.push(FieldError::new(
                "away",
                format!("must be true or false, not {}", json_kind(other)),
            ));
            false
        }
    };
    let team = errors.into_result(team).map_err(ApiError::Invalid)?;
    let rep = RepInput {
        team: team.unwrap_or_default(),
        email,
        weight,
        daily_cap,
        away,
    };
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
/// afresh for the new owner.
#[utoipa::path(post, path = "/api/v1/leads/{id}/assign", tag = "routing",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = AssignInput,
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn assign(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(input): Body<AssignInput>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let mut errors = FieldErrors::default();
    for (key, value) in [("owner", &input.owner), ("reason", &input.reason)] {
        if value.trim().is_empty() {
            errors.push(FieldError::new(key, "must not be empty"));
        }
    }
    errors.into_result(()).map_err(ApiError::Invalid)?;
    let lead: StoredLead = state
        .store
        .reassign(id, input.owner.trim(), input.reason.trim(), &actor.0)
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
