//! Request bodies and query strings: JSON read with our own errors (400 malformed, 413 too
//! large, 415 not JSON), a query string that does not read answered as a problem naming it,
//! leaving field validation to the domain so every bad field is named.

use crate::http::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use leadgate_core::{FieldError, FieldErrors};
use serde_json::{Map, Value};
use utoipa::openapi::{RefOr, Schema};

/// The body as a JSON object.
pub struct JsonObject(pub Map<String, Value>);

/// The body read into a request type, which also describes it in the OpenAPI document: a
/// field missing, of the wrong type or not of the request is named with the reason; the
/// type's own rules (lengths, one of several fields) are checked after, all at once.
pub struct Body<T>(pub T);

/// The body as any JSON value, refused whole when it holds a NUL character anywhere.
pub struct JsonBody(pub Value);

/// A batch's body read into its request type as `Body` reads one, NULs left for each
/// item's own check so one bad item does not refuse the rest.
pub struct Batch<T>(pub T);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonAny(value) = JsonAny::from_request(req, state).await?;
        leadgate_core::validation::refuse_nul(&value, "")
            .map_err(|e| ApiError::Invalid(e.into()))?;
        Ok(JsonBody(value))
    }
}

impl<S, T> FromRequest<S> for Batch<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + utoipa::PartialSchema,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let map = object(JsonAny::from_request(req, state).await?.0)?;
        match read::<T>(map) {
            (Some(value), errors) if errors.is_empty() => Ok(Batch(value)),
            (_, errors) => Err(ApiError::Invalid(errors)),
        }
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

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + utoipa::PartialSchema,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonObject(map) = JsonObject::from_request(req, state).await?;
        match read::<T>(map) {
            (Some(value), errors) if errors.is_empty() => Ok(Body(value)),
            (_, errors) => Err(ApiError::Invalid(errors)),
        }
    }
}

/// A typed request with rules beyond its shape (`Valid<T>` checks them as it reads it).
pub trait Checked {
    /// What a request that passes is.
    type Valid;
    fn check(&self) -> Result<Self::Valid, FieldErrors>;
}

/// The body read into a typed request and checked: every unknown, mistyped or missing field
/// and every broken rule named at once (the rules of the fields that did read are checked
/// even when others did not).
pub struct Valid<T: Checked>(pub T::Valid);

impl<S, T> FromRequest<S> for Valid<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + utoipa::PartialSchema + Checked,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonObject(map) = JsonObject::from_request(req, state).await?;
        let (read, mut errors) = read::<T>(map);
        let Some(request) = read else {
            return Err(ApiError::Invalid(errors));
        };
        match request.check() {
            Ok(valid) if errors.is_empty() => Ok(Valid(valid)),
            Ok(_) => Err(ApiError::Invalid(errors)),
            Err(broken) => {
                for error in broken.0 {
                    if !errors.0.iter().any(|e| e.field == error.field) {
                        errors.push(error);
                    }
                }
                Err(ApiError::Invalid(errors))
            }
        }
    }
}

/// Reads `map` into `T` as far as it goes: the value made of the fields that read (none when
/// a required one is missing or mistyped), and every field that did not, named.
fn read<T>(mut map: Map<String, Value>) -> (Option<T>, FieldErrors)
where
    T: serde::de::DeserializeOwned + utoipa::PartialSchema,
{
    // The fields the description requires, each named when missing; those it does not have,
    // named and set aside at once (a body of fifty thousand unknown keys is one pass, not
    // fifty thousand reads).
    let mut errors = FieldErrors::default();
    if let RefOr::T(Schema::Object(described)) = T::schema() {
        for field in described.required.iter().filter(|f| !map.contains_key(*f)) {
            errors.push(FieldError::new(field.clone(), "is required"));
        }
        let known: Vec<&str> = described.properties.keys().map(String::as_str).collect();
        let unknown: Vec<String> = map
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for key in unknown {
            map.remove(&key);
            errors.push(FieldError::new(
                key,
                format!("is not a field here; expected {}", known.join(", ")),
            ));
        }
    }
    let (read, more) = leadgate_core::validation::read_fields(map);
    for error in more.0 {
        if !errors.0.iter().any(|e| e.field == error.field) {
            errors.push(error);
        }
    }
    (read, errors)
}

/// For an optional field that, when given, must not be `null` (`#[serde(default,
/// deserialize_with = "not_null")]`): the description says so, and so does the reader.
pub fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A whole number, also when written with a zero fraction (`13042.0` is an integer to JSON
/// Schema, and so to the API's description).
pub fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = <serde_json::Number as serde::Deserialize>::deserialize(deserializer)?;
    number
        .as_i64()
        .or_else(|| {
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        })
        .ok_or_else(|| serde::de::Error::custom(format!("{number} is not a whole number")))
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

/// A list's `limit` parameter: 1 to 1000, 100 when not given.
pub fn checked_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(100),
        Some(n) if (1..=1000).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::BadQuery(
            FieldError::new("limit", "must be from 1 to 1000").into(),
        )),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // Read, never used: the test is about what reading it reports.
    struct Probe {
        owner: String,
        weight: Option<f64>,
    }

    #[test]
    fn every_unknown_key_is_named_in_one_pass_with_the_rest() {
        let mut map = Map::new();
        for i in 0..50_000 {
            map.insert(format!("k{i}"), Value::from(i));
        }
        map.insert("weight".into(), Value::from("heavy"));
        let (read, errors) = read::<Probe>(map);
        assert!(read.is_none());
        assert_eq!(
            errors.0.len(),
            50_002,
            "owner, weight and every unknown key"
        );
        assert_eq!(errors.0[0].field, "owner");
        let unknown = errors.0.iter().find(|e| e.field == "k7").unwrap();
        assert_eq!(
            unknown.reason,
            "is not a field here; expected owner, weight"
        );
        assert!(errors.0.iter().any(|e| e.field == "weight"));
    }
}
