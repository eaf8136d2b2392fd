//! Follow-up over the API: tasks on leads, interactions logged against them, the
//! notifications people are sent, and the durable jobs behind reminders.

use crate::http::body::{checked_limit, Checked, Query, Valid};
use crate::http::error::{ApiError, Problem};
use crate::http::leads::parse_id;
use crate::http::{path_id, Actor, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::Utc;
use leadgate_core::access::LeadScope;
use leadgate_core::followup::{Interaction, InteractionRequest, NewTask, TaskRequest, TaskState};
use leadgate_core::id::TaskId;
use leadgate_core::job::{JobKind, JobState};
use leadgate_core::openapi as schema;
use leadgate_core::{FieldError, FieldErrors};
use leadgate_store::{Job, JobRun, LoggedInteraction, Notification, Task, TaskFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/leads/{id}/tasks", post(create_task))
        .route("/leads/{id}/interactions", post(log_interaction))
        .route("/tasks", get(list_tasks))
        .route("/tasks/{id}", get(get_task))
        .route("/tasks/{id}/{action}", post(close_task))
        .route("/notifications", get(list_notifications))
        .route("/notifications/{id}/read", post(read_notification))
        .route("/jobs", get(list_jobs))
        .route("/jobs/{id}", get(get_job))
        .route("/jobs/{id}/retry", post(retry_job))
}

/// `{"type": "call|email|meeting|todo", "title", "due_at", "owner", "notes"}`; the owner is
/// the lead's unless given. A reminder goes out at the due time.
#[utoipa::path(post, path = "/api/v1/leads/{id}/tasks", tag = "follow-up",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = TaskRequest,
    responses((status = 201, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn create_task(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Valid(task): Valid<TaskRequest>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let id = parse_id(&id)?;
    let task =
        leadgate_app::followup::create_task(&state.store, id, &task, &actor.0, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(task)))
}

/// `{"type": "call|email|meeting|note", "outcome", "notes", "duration_minutes",
/// "occurred_at", "next_step": {task}}`: recorded as an event on the lead; a next step
/// becomes a task.
#[utoipa::path(post, path = "/api/v1/leads/{id}/interactions", tag = "follow-up",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = InteractionRequest,
    responses((status = 201, description = "event_id, next_step", body = Object), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn log_interaction(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Valid(interaction): Valid<InteractionRequest>,
) -> Result<(StatusCode, Json<LoggedInteraction>), ApiError> {
    let id = parse_id(&id)?;
    let logged = leadgate_app::followup::log_interaction(
        &state.store,
        id,
        &interaction,
        &actor.0,
        Utc::now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(logged)))
}

impl Checked for TaskRequest {
    type Valid = NewTask;
    fn check(&self) -> Result<NewTask, FieldErrors> {
        TaskRequest::check(self, "")
    }
}

impl Checked for InteractionRequest {
    type Valid = Interaction;
    fn check(&self) -> Result<Interaction, FieldErrors> {
        InteractionRequest::check(self, Utc::now())
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    owner: Option<String>,
    lead_id: Option<leadgate_core::id::LeadId>,
    /// open (the default), done, cancelled or all.
    #[param(schema_with = leadgate_core::followup::task_state_or_all_schema)]
    state: Option<String>,
    /// Only tasks past their due time.
    #[serde(default)]
    overdue: bool,
    /// At most this many (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TaskList {
    #[schema(value_type = Vec<Object>)]
    tasks: Vec<Task>,
}

/// Tasks by due time, the most overdue first.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "follow-up", params(TaskQuery),
    responses((status = 200, body = TaskList), (status = 400, body = Problem)),
    security(("api_key" = [])))]
async fn list_tasks(
    State(state): State<AppState>,
    Query(query): Query<TaskQuery>,
) -> Result<Json<TaskList>, ApiError> {
    let task_state = match query.state.as_deref() {
        None => Some(TaskState::Open),
        Some("all") => None,
        Some(s) => Some(s.parse::<TaskState>().map_err(|reason| {
            ApiError::BadQuery(FieldError::new("state", format!("{reason}, or all")).into())
        })?),
    };
    let limit = checked_limit(query.limit)?;
    let tasks = state
        .store
        .tasks(&TaskFilter {
            owner: query.owner,
            lead_id: query.lead_id,
            state: task_state,
            due_before: query.overdue.then(Utc::now),
            limit,
        })
        .await?;
    Ok(Json(TaskList { tasks }))
}

#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "follow-up",
    params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn get_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.store.task(TaskId(path_id(&id, "task")?)).await?))
}

/// `complete` or `cancel` an open task.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/{action}", tag = "follow-up",
    params(("id" = i64, Path), ("action" = String, Path, description = "complete or cancel")),
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 409, description = "Already closed", body = Problem)),
    security(("api_key" = [])))]
async fn close_task(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<Task>, ApiError> {
    let id = TaskId(path_id(&id, "task")?);
    let closed = match action.as_str() {
        "complete" => TaskState::Done,
        "cancel" => TaskState::Cancelled,
        other => {
            return Err(ApiError::NotFound(format!(
                "'{other}' is not a task action; use complete or cancel"
            )))
        }
    };
    Ok(Json(
        state
            .store
            .close_task(id, closed, &actor.0, Utc::now())
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// Whose notifications (a rep's name as used for lead owners).
    #[param(required = true, min_length = 1, pattern = r"[^\s\u0085]")]
    recipient: Option<String>,
    #[serde(default)]
    unread: bool,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationList {
    #[schema(value_type = Vec<Object>)]
    notifications: Vec<Notification>,
}

/// A person's notifications (task reminders, later SLA warnings), newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "follow-up", params(NotificationQuery),
    responses((status = 200, body = NotificationList), (status = 400, body = Problem)),
    security(("api_key" = [])))]
async fn list_notifications(
    State(state): State<AppState>,
    scope: Option<Extension<LeadScope>>,
    Query(query): Query<NotificationQuery>,
) -> Result<Json<NotificationList>, ApiError> {
    let Some(recipient) = query.recipient.filter(|r| !r.trim().is_empty()) else {
        return Err(ApiError::BadQuery(
            FieldError::new("recipient", "is required").into(),
        ));
    };
    recipient_in_scope(&state, scope, &recipient).await?;
    let notifications = state
        .store
        .notifications(&recipient, query.unread, checked_limit(query.limit)?)
        .await?;
    Ok(Json(NotificationList { notifications }))
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "follow-up",
    params(("id" = i64, Path)),
    responses((status = 204, description = "Marked read"), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn read_notification(
    State(state): State<AppState>,
    scope: Option<Extension<LeadScope>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(&id, "notification")?;
    let recipient = state.store.notification_recipient(id).await?;
    recipient_in_scope(&state, scope, &recipient).await?;
    state.store.read_notification(id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A team-bound key reads and marks only the notifications of its team's reps.
async fn recipient_in_scope(
    state: &AppState,
    scope: Option<Extension<LeadScope>>,
    recipient: &str,
) -> Result<(), ApiError> {
    let Some(Extension(scope)) = scope else {
        return Ok(());
    };
    if scope == LeadScope::All {
        return Ok(());
    }
    let team = state.store.owner_team(recipient).await?;
    if scope.covers(team.as_deref()) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "recipient '{recipient}' belongs to another team than this key's"
        )))
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// queued, running, done or dead.
    #[param(schema_with = schema::job_state)]
    state: Option<String>,
    /// task_reminder, ...
    #[param(schema_with = schema::job_kind)]
    kind: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct JobList {
    #[schema(value_type = Vec<Object>)]
    jobs: Vec<Job>,
}

/// Background jobs, newest first; `?state=dead` is the dead letter.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "operations", params(JobQuery),
    responses((status = 200, body = JobList), (status = 400, body = Problem)),
    security(("api_key" = [])))]
async fn list_jobs(
    State(state): State<AppState>,
    Query(query): Query<JobQuery>,
) -> Result<Json<JobList>, ApiError> {
    let mut errors = FieldErrors::default();
    let job_state = query
        .state
        .as_deref()
        .map(str::parse::<JobState>)
        .transpose()
        .map_err(|reason| errors.push(FieldError::new("state", reason)))
        .ok()
        .flatten();
    let kind = query
        .kind
        .as_deref()
        .map(str::parse::<JobKind>)
        .transpose()
        .map_err(|reason| errors.push(FieldError::new("kind", reason)))
        .ok()
        .flatten();
    let limit = checked_limit(query.limit)?;
    if !errors.is_empty() {
        return Err(ApiError::BadQuery(errors));
    }
    Ok(Json(JobList {
        jobs: state.store.jobs(job_state, kind, limit).await?,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct JobView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    job: Job,
    /// Every attempt: worker, outcome, error.
    #[schema(value_type = Vec<Object>)]
    runs: Vec<JobRun>,
}

/// One job with the log of its attempts.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "operations",
    params(("id" = i64, Path)),
    responses((status = 200, body = JobView), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn get_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let id = leadgate_core::id::JobId(path_id(&id, "job")?);
    Ok(Json(JobView {
        job: state.store.job(id).await?,
        runs: state.store.job_runs(id).await?,
    }))
}

/// Sends a dead job back to the queue, due now.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "operations",
    params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 409, description = "The job is not dead", body = Problem)),
    security(("api_key" = [])))]
async fn retry_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    Ok(Json(
        state
            .store
            .retry_job(leadgate_core::id::JobId(path_id(&id, "job")?), Utc::now())
            .await?,
    ))
}
