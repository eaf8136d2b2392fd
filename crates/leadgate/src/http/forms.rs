//! Web-to-lead forms: definitions managed under `/api/v1/forms`, and the public side a
//! website talks to: `POST /f/{key}` (url-encoded or JSON; honeypot, fill time, per-IP rate
//! limit, size limit) and `GET /f/{key}/embed` (the HTML snippet to paste).

use crate::http::body::{Checked, Valid};
use crate::http::client::ClientAddress;
use crate::http::error::{ApiError, Problem};
use crate::http::leads::require_identity;
use crate::http::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use leadgate_core::form::{self, FormDefinition};
use leadgate_core::lead::PatchMode;
use leadgate_core::{FieldErrors, LeadPatch, Text};
use leadgate_store::{Capture, StoredForm};
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

/// Largest form post: forms carry a few fields, not files.
pub const FORM_BODY_LIMIT: usize = 64 * 1024;
/// Submissions one client may make per window, across all forms and servers.
pub const SUBMISSIONS_PER_WINDOW: u32 = 20;
/// The window, in seconds.
pub const WINDOW_SECS: u32 = 60;

/// Routes under `/api/v1` (API key required).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/forms", get(list_forms))
        .route("/forms/{key}", put(save_form).get(get_form))
}

/// The public routes a website uses (no API key).
pub fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/f/{key}", axum::routing::post(submit))
        .route("/f/{key}/embed", get(embed))
}

#[derive(Serialize, ToSchema)]
pub struct FormView {
    key: String,
    /// title, fields [{name, label, required}], consent_text, redirect_url, source,
    /// min_fill_seconds.
    #[schema(value_type = Object)]
    definition: FormDefinition,
    /// Where the form posts.
    submit_path: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<StoredForm> for FormView {
    fn from(f: StoredForm) -> Self {
        FormView {
            submit_path: format!("/f/{}", f.key),
            key: f.key,
            definition: f.definition,
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

impl Checked for FormDefinition {
    type Valid = FormDefinition;
    fn check(&self) -> Result<FormDefinition, FieldErrors> {
        FormDefinition::check(self).map(|()| self.clone())
    }
}

/// Create or replace a form.
#[utoipa::path(put, path = "/api/v1/forms/{key}", tag = "forms",
    params(("key" = String, Path, description = "lower-case letters, digits, dashes")),
    request_body = FormDefinition,
    responses((status = 201, body = FormView), (status = 200, body = FormView), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn save_form(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Valid(definition): Valid<FormDefinition>,
) -> Result<(StatusCode, Json<FormView>), ApiError> {
    form::check_key(&key).map_err(|e| ApiError::Invalid(e.into()))?;
    let created = state.store.save_form(&key, &definition).await?;
    let stored = state.store.form(&key).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(stored.into())))
}

#[derive(Serialize, ToSchema)]
pub struct FormList {
    forms: Vec<FormView>,
}

#[utoipa::path(get, path = "/api/v1/forms", tag = "forms",
    responses((status = 200, body = FormList)), security(("api_key" = [])))]
async fn list_forms(State(state): State<AppState>) -> Result<Json<FormList>, ApiError> {
    let forms = state.store.forms().await?;
    Ok(Json(FormList {
        forms: forms.into_iter().map(FormView::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/forms/{key}", tag = "forms",
    params(("key" = String, Path)),
    responses((status = 200, body = FormView), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn get_form(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<FormView>, ApiError> {
    Ok(Json(state.store.form(&key).await?.into()))
}

/// The HTML snippet to paste into a web page: the form's fields, consent box, honeypot and
/// the script that records when it was shown, where the visitor landed and the UTM tags.
#[utoipa::path(get, path = "/f/{key}/embed", tag = "forms",
    params(("key" = String, Path)),
    responses((status = 200, description = "HTML", body = String, content_type = "text/html"), (status = 404, body = Problem)))]
async fn embed(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let stored = state.store.form(&key).await?;
    let html = stored
        .definition
        .embed(&format!("{}/f/{}", origin(&headers), stored.key));
    Ok(Html(html).into_response())
}

/// This server's address as the browser reached it (behind a proxy, its `https`).
pub(crate) fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// A visitor sends a form. Url-encoded (a browser) or JSON. A bot-like submission (honeypot
/// filled, sent faster than the form's minimum fill time) is answered like any other and
/// stored flagged as junk (`bot_submission`), so bots learn nothing.
#[utoipa::path(post, path = "/f/{key}", tag = "forms",
    params(("key" = String, Path)),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "The form's fields, consent, _hp, _ts, utm_*, referrer, landing_page"),
    responses(
        (status = 201, description = "Received (JSON)", body = Object),
        (status = 303, description = "Received; the browser goes to the thank-you page"),
        (status = 404, description = "No such form", body = Problem),
        (status = 413, description = "Over 64 KiB", body = Problem),
        (status = 415, description = "Neither url-encoded nor JSON", body = Problem),
        (status = 422, description = "A required field or consent is missing, or a value is invalid", body = Problem),
        (status = 429, description = "Too many submissions from this address; see Retry-After", body = Problem),
    ))]
#[tracing::instrument(skip_all, fields(form = %key))]
async fn submit(
    State(state): State<AppState>,
    Path(key): Path<String>,
    ClientAddress(client): ClientAddress,
    request: Request,
) -> Result<Response, ApiError> {
    // Counted in the store, so that every server behind the proxy counts together.
    let hits = state
        .store
        .hit(&format!("form:{client}"), WINDOW_SECS, Utc::now())
        .await?;
    if hits.count > SUBMISSIONS_PER_WINDOW {
        return Ok(too_many(hits.resets_in));
    }
    let stored = state.store.form(&key).await?;
    let headers = request.headers().clone();
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let bytes: Bytes = axum::body::to_bytes(request.into_body(), FORM_BODY_LIMIT)
        .await
        .map_err(|_| ApiError::TooLarge(FORM_BODY_LIMIT))?;
    let input: Map<String, Value> = if content_type.starts_with("application/x-www-form-urlencoded")
    {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .map_err(|e| ApiError::invalid("body", format!("is not url-encoded: {e}")))?
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    } else if content_type.starts_with("application/json") {
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(ApiError::invalid("", "the body must be a JSON object")),
            Err(e) => return Err(ApiError::MalformedJson(e.to_string())),
        }
    } else {
        return Err(ApiError::UnsupportedMediaType(
            "a form post (application/x-www-form-urlencoded) or JSON",
        ));
    };
    let answer_error = |e: FieldErrors| -> Result<Response, ApiError> {
        if wants_html {
            Ok(error_page(&stored.definition.title, &e))
        } else {
            Err(ApiError::Invalid(e))
        }
    };
    let now = Utc::now();
    let submission = match stored.definition.read(&input, now.timestamp_millis()) {
        Ok(s) => s,
        Err(e) => return answer_error(e),
    };
    if let Err(e) = require_identity(&submission.lead) {
        return answer_error(e);
    }
    let patch = match LeadPatch::parse(&submission.lead, PatchMode::Create) {
        Ok(p) => p,
        Err(e) => return answer_error(e),
    };
    // The contact consent the person behind the email has already decided, if known.
    let decided = match patch.email() {
        Some(email) if submission.consent == Some(true) => {
            match state.store.person_by_email(email).await {
                Ok(person) => contact_consent(&state.store.consents(person).await?),
                Err(leadgate_store::StoreError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            }
        }
        _ => None,
    };
    let records_consent = submission.records_consent(decided);
    let mut source = submission.source;
    if source.referrer.is_none() {
        source.referrer = headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Text::parse(v, 2000).ok());
    }
    let submitted_consent = submission.consent.map(|given| {
        json!({"given": given, "text": stored.definition.consent_text, "at": now, "form": key,
               "ip": client.to_string(), "recorded": records_consent})
    });
    let mut raw = input.clone();
    raw.remove(form::HONEYPOT);
    // The visitor's id is the key to their browsing history: it joins it, it is not kept.
    let visitor = raw
        .remove(form::VISITOR)
        .and_then(|v| v.as_str().map(str::to_owned))
        .filter(|v| leadgate_core::visits::is_browser_id(v));
    let consent = match (records_consent, &stored.definition.consent_text) {
        (true, Some(wording)) => Some(leadgate_store::NewConsent {
            purpose: leadgate_store::CONTACT_PURPOSE.into(),
            granted: true,
            wording: Some(wording.clone()),
            source: format!("form:{key}"),
            ip: Some(client.to_string()),
        }),
        _ => None,
    };
    let captured = leadgate_app::capture(
        &state.store,
        &state.models,
        Capture {
            patch,
            source: Some(source),
            raw: json!({"form": key, "fields": raw, "consent": submitted_consent, "bot_signals": submission.bot_signals}),
            at: now,
            actor: format!("form:{key}"),
            bot: !submission.bot_signals.is_empty(),
            by: leadgate_store::Submitter::Anonymous,
        },
        consent.as_ref(),
    )
    .await?;
    // The visitor's history joins the lead this form made. Not a lead it matched by email:
    // anyone can type someone else's address, and their browsing would then be scored as
    // that person's from then on (a known lead's browser is recognised by a click from a
    // Leadgate email instead, which proves the inbox). A bot's submission takes nothing.
    if let (Some(visitor), true) = (
        visitor,
        captured.created && submission.bot_signals.is_empty(),
    ) {
        leadgate_app::visits::identify(
            &state.store,
            &state.models,
            &visitor,
            captured.lead.id,
            now,
        )
        .await?;
    }
    if wants_html || content_type.starts_with("application/x-www-form-urlencoded") {
        if let Some(url) = &stored.definition.redirect_url {
            return Ok(Redirect::to(url).into_response());
        }
        if wants_html {
            return Ok(Html(format!(
                "<!doctype html><meta charset=\"utf-8\"><title>{0}</title><p>Thank you. We received your request ({0}).</p>",
                form::escape(&stored.definition.title)
            ))
            .into_response());
        }
    }
    Ok((StatusCode::CREATED, Json(json!({"ok": true}))).into_response())
}

/// The contact consent in force: granted, withdrawn, or never decided (None).
fn contact_consent(consents: &leadgate_store::Consents) -> Option<bool> {
    consents
        .current
        .iter()
        .find(|c| c.purpose == leadgate_store::CONTACT_PURPOSE)
        .map(|c| c.granted)
}

fn too_many(wait: u64) -> Response {
    let mut response = ApiError::TooManyRequests(wait).into_response();
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A page a browser shows when a submission is refused: what is missing, escaped.
fn error_page(title: &str, errors: &FieldErrors) -> Response {
    let items: String = errors
        .0
        .iter()
        .map(|e| {
            format!(
                "<li>{}: {}</li>",
                form::escape(&e.field),
                form::escape(&e.reason)
            )
        })
        .collect();
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Html(format!(
            "<!doctype html><meta charset=\"utf-8\"><title>{0}</title><p>Please check the form:</p><ul>{items}</ul><p><a href=\"javascript:history.back()\">Back</a></p>",
            form::escape(title)
        )),
    )
        .into_response()
}
