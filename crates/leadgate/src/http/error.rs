//! One error type for the API, answered as RFC 9457 problem+json that names the field and the
//! reason. Internal causes are logged, never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use leadgate_app::AppError;
use leadgate_core::{FieldError, FieldErrors};
use leadgate_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("bad query parameters")]
    BadQuery(FieldErrors),
    /// The body's Content-Type is not one the route reads; says which it reads.
    #[error("the body must be {0}")]
    UnsupportedMediaType(&'static str),
    #[error("the body is larger than the {0}-byte limit")]
    TooLarge(usize),
    #[error("invalid values")]
    Invalid(FieldErrors),
    #[error("{0}")]
    NotFound(String),
    #[error("{field}: {reason}")]
    Conflict { field: String, reason: String },
    #[error("a valid API key is required (Authorization: Bearer <key>)")]
    Unauthorized,
    /// The key is valid but its role or team does not reach this; says why.
    #[error("{0}")]
    Forbidden(String),
    /// Too many requests from one address; try again after this many seconds.
    #[error("too many submissions from this address; try again in {0} seconds")]
    TooManyRequests(u64),
    #[error("the database is not reachable")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The problem document (RFC 9457), with `errors` listing each bad field.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// The field, e.g. `email` or `events[3].type`.
    pub field: String,
    pub reason: String,
}

impl ApiError {
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        ApiError::Invalid(FieldError::new(field, reason).into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) | ApiError::BadQuery(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn problem(&self) -> Problem {
        let status = self.status();
        let (kind, errors) = match self {
            ApiError::Invalid(errors) => ("/problems/invalid-fields", errors.0.clone()),
            ApiError::BadQuery(errors) => ("/problems/bad-query", errors.0.clone()),
            ApiError::Conflict { field, reason } => {
                ("/problems/conflict", vec![FieldError::new(field, reason)])
            }
            ApiError::MalformedJson(_) => ("/problems/malformed-json", Vec::new()),
            _ => ("about:blank", Vec::new()),
        };
        let detail = if errors.is_empty() {
            self.to_string()
        } else {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        };
        Problem {
            kind: kind.to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: errors
                .into_iter()
                .map(|e| ProblemField {
                    field: e.field,
                    reason: e.reason,
                })
                .collect(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::LeadNotFound(id) => ApiError::NotFound(format!("lead {id} does not exist")),
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::OutOfScope(what) => ApiError::Forbidden(what),
            StoreError::Policy(errors) => ApiError::Invalid(FieldErrors(
                errors
                    .0
                    .into_iter()
                    .map(|e| FieldError::new(format!("document:{}", e.line), e.message))
                    .collect(),
            )),
            StoreError::Conflict { field, reason } => ApiError::Conflict { field, reason },
            StoreError::Invalid(errors) => ApiError::Invalid(errors),
            StoreError::Database {
                source: sqlx::Error::PoolTimedOut,
                ..
            } => ApiError::Unavailable,
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Store(e) => e.into(),
            AppError::Refused(refused) => ApiError::Conflict {
                field: "to".into(),
                reason: refused.to_string(),
            },
            AppError::Model(
                e @ (leadgate_ml::MlError::BadModel(_)
                | leadgate_ml::MlError::IncompatibleModel { .. }),
            ) => ApiError::Invalid(FieldErrors::from(FieldError::new("model", e.to_string()))),
            AppError::Model(e) => ApiError::Conflict {
                field: "outcomes".into(),
                reason: e.to_string(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = %cause, "request failed");
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
