//! Email over the API: templates, emailing a lead from one (through the outbox), the outbox,
//! and resending an email that failed or may not have gone out.

use crate::http::body::{checked_limit, Body, Checked, Query, Valid};
use crate::http::error::{ApiError, Problem};
use crate::http::leads::parse_id;
use crate::http::{path_id, Actor, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use leadgate_core::email::{EmailTemplate, TemplateRequest};
use leadgate_store::Email;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

impl Checked for TemplateRequest {
    type Valid = EmailTemplate;
    fn check(&self) -> Result<EmailTemplate, leadgate_core::FieldErrors> {
        TemplateRequest::check(self)
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/email-templates", get(list_templates))
        .route("/email-templates/{name}", put(put_template))
        .route("/leads/{id}/emails", post(email_lead))
        .route("/emails", get(list_emails))
        .route("/emails/{id}/resend", post(resend))
}

/// `{"subject": "{{first_name}}, your demo", "body": "..."}`; placeholders: first_name,
/// last_name, company, job_title, email, owner, lead_id.
#[utoipa::path(put, path = "/api/v1/email-templates/{name}", tag = "email",
    params(("name" = String, Path)),
    request_body = TemplateRequest,
    responses((status = 201, body = Object), (status = 200, body = Object), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn put_template(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Valid(template): Valid<TemplateRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let created = state.store.put_email_template(&name, &template).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"name": name, "subject": template.subject, "body": template.body})),
    ))
}

#[utoipa::path(get, path = "/api/v1/email-templates", tag = "email",
    responses((status = 200, body = Object)), security(("api_key" = [])))]
async fn list_templates(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let templates: Vec<Value> = state
        .store
        .email_templates()
        .await?
        .into_iter()
        .map(|(name, t)| json!({"name": name, "subject": t.subject, "body": t.body}))
        .collect();
    Ok(Json(json!({"templates": templates})))
}

/// `{"template": "welcome"}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailInput {
    /// The name of a stored template.
    #[schema(min_length = 1, pattern = r"[^\s\u0085]")]
    template: String,
}

/// Renders the template for the lead into the outbox; a running server sends it. Refused
/// (409) when the person refused email or has no address.
#[utoipa::path(post, path = "/api/v1/leads/{id}/emails", tag = "email",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = EmailInput,
    responses((status = 202, body = Object), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn email_lead(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(input): Body<EmailInput>,
) -> Result<(StatusCode, Json<Email>), ApiError> {
    let id = parse_id(&id)?;
    let template = Some(input.template.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::invalid("template", "is required: the name of a template"))?;
    let email = state.store.queue_email(id, template, &actor.0).await?;
    Ok((StatusCode::ACCEPTED, Json(email)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailQuery {
    lead_id: Option<leadgate_core::id::LeadId>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct EmailList {
    #[schema(value_type = Vec<Object>)]
    emails: Vec<Email>,
}

/// The outbox, newest first: queued, sending, sent, failed, uncertain.
#[utoipa::path(get, path = "/api/v1/emails", tag = "email", params(EmailQuery),
    responses((status = 200, body = EmailList)), security(("api_key" = [])))]
async fn list_emails(
    State(state): State<AppState>,
    Query(query): Query<EmailQuery>,
) -> Result<Json<EmailList>, ApiError> {
    Ok(Json(EmailList {
        emails: state
            .store
            .emails(query.lead_id, checked_limit(query.limit)?)
            .await?,
    }))
}

/// Queues a failed or uncertain email again.
#[utoipa::path(post, path = "/api/v1/emails/{id}/resend", tag = "email",
    params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("api_key" = [])))]
async fn resend(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Email>, ApiError> {
    Ok(Json(
        state.store.resend_email(path_id(&id, "email")?).await?,
    ))
}
