//! Request bodies and query strings: JSON read with our own errors (400 malformed, 413 too
//! large, 415 not JSON), a query string that does not read answered as a problem naming it,
//! leaving field validation to the domain so every bad field is named.

use crate::http::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde_json::{Map, Value};

/// The body as a JSON object.
pub struct JsonObject(pub Map<String, Value>);

/// The body as any JSON value, refused whole when it holds a NUL character anywhere.
pub struct JsonBody(pub Value);

/// A batch's body (an object), NULs left for each item's own check so one bad item does
/// not refuse the rest.
pub struct JsonBatch(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonAny(value) = JsonAny::from_request(req, state).await?;
        leadgate_core::validation::refuse_nul(&value, "")
            .map_err(|e| ApiError::Invalid(e.into()))?;
        Ok(JsonBody(value))
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBatch {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        object(JsonAny::from_request(req, state).await?.0).map(JsonBatch)
    }
}

/// The body as JSON, unchecked.
struct JsonAny(Value);

impl<S: Send + Sync> FromRequest<S> for JsonAny {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "JSON (Content-Type: application/json)",
            ));
        }
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map(|l| l.0)
            .unwrap_or(DEFAULT_LIMIT);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(limit)
            } else {
                ApiError::MalformedJson(rejection.body_text())
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(JsonAny)
            .map_err(|e| ApiError::MalformedJson(e.to_string()))
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        object(JsonBody::from_request(req, state).await?.0).map(JsonObject)
    }
}

fn object(value: Value) -> Result<Map<String, Value>, ApiError> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::invalid(
            "",
            format!(
                "the body must be a JSON object, not {}",
                leadgate_core::source::json_kind(&other)
            ),
        )),
    }
}

/// The body limit of a route, put in the request's extensions so the 413 names it.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

pub const DEFAULT_LIMIT: usize = 1024 * 1024;

/// A query string read into `T`; one that does not read (a number too large, `true` spelled
/// otherwise) is a 400 problem naming the reason, like every other refusal. A parameter
/// given empty (`?stage=&limit=`, as an HTML form sends a blank field) is not given.
pub struct Query<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let given: Vec<(String, String)> =
            serde_urlencoded::from_str(parts.uri.query().unwrap_or_default()).map_err(|e| {
                ApiError::BadQuery(leadgate_core::FieldError::new("query", e.to_string()).into())
            })?;
        let kept: Vec<(String, String)> =
            given.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        // Read by axum's own extractor (which names the parameter in its errors) over the
        // address with the blank parameters left out.
        let original = parts.uri.clone();
        let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
        let trimmed = format!("{}?{query}", original.path());
        if let Ok(uri) = trimmed.parse() {
            parts.uri = uri;
        }
        let read = axum::extract::Query::<T>::from_request_parts(parts, state).await;
        parts.uri = original;
        read.map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| {
                let reason = rejection.body_text();
                let reason = reason
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&reason);
                let (field, reason) = reason.split_once(": ").unwrap_or(("query", reason));
                ApiError::BadQuery(leadgate_core::FieldError::new(field, reason).into())
            })
    }
}
