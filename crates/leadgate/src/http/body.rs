//! Request bodies: JSON read with our own errors (400 malformed, 413 too large, 415 not JSON),
//! leaving field validation to the domain so every bad field is named.

use crate::http::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde_json::{Map, Value};

/// The body as a JSON object.
pub struct JsonObject(pub Map<String, Value>);

/// The body as any JSON value.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
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
            .map(JsonBody)
            .map_err(|e| ApiError::MalformedJson(e.to_string()))
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match JsonBody::from_request(req, state).await?.0 {
            Value::Object(map) => Ok(JsonObject(map)),
            other => Err(ApiError::invalid(
                "",
                format!(
                    "the body must be a JSON object, not {}",
                    leadgate_core::source::json_kind(&other)
                ),
            )),
        }
    }
}

/// The body limit of a route, put in the request's extensions so the 413 names it.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

pub const DEFAULT_LIMIT: usize = 1024 * 1024;
