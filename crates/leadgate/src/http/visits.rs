//! The website tracker: trackers managed under `/api/v1/trackers`, and the public side a
//! site's pages talk to: `GET /t.js` (the script) and `POST /t/collect` (its page views,
//! without a key: the tracker's sites are checked against `Origin`).

use crate::http::body::{Checked, Valid};
use crate::http::error::{ApiError, Problem};
use crate::http::forms::origin as server_origin;
use crate::http::AppState;
use crate::jobs::visits::{QueueError, Refusal};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use leadgate_core::visits::{self, Collected, TrackerDefinition};
use leadgate_core::FieldErrors;
use leadgate_store::StoredTracker;
use serde::Serialize;
use utoipa::ToSchema;

/// The script, as served (a few KiB, no dependencies).
pub const SCRIPT: &str = include_str!("../web/static/t.js");

/// Routes under `/api/v1` (API key required).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/trackers", get(list_trackers).post(create_tracker))
        .route("/trackers/{key}", put(update_tracker).get(get_tracker))
}

/// The public routes a site's pages use.
pub fn public_routes() -> Router<AppState> {
    Router::new().route("/t.js", get(script)).route(
        "/t/collect",
        post(collect).layer(axum::extract::DefaultBodyLimit::max(visits::MAX_POST_BYTES)),
    )
}

#[derive(Serialize, ToSchema)]
pub struct TrackerView {
    /// The public key a site's snippet names.
    key: String,
    definition: TrackerDefinition,
    /// What a site pastes into each page (with this server's address as it was reached).
    snippet: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TrackerView {
    fn of(tracker: StoredTracker, server: &str) -> TrackerView {
        TrackerView {
            snippet: tracker.definition.snippet(server, &tracker.key),
            key: tracker.key,
            definition: tracker.definition,
            created_at: tracker.created_at,
            updated_at: tracker.updated_at,
        }
    }
}

impl Checked for TrackerDefinition {
    type Valid = TrackerDefinition;
    fn check(&self) -> Result<TrackerDefinition, FieldErrors> {
        self.checked()
    }
}

#[derive(Serialize, ToSchema)]
pub struct TrackerList {
    trackers: Vec<TrackerView>,
}

#[utoipa::path(get, path = "/api/v1/trackers", tag = "tracking",
    responses((status = 200, body = TrackerList)), security(("api_key" = [])))]
async fn list_trackers(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<TrackerList>, ApiError> {
    let server = server_origin(&headers);
    let trackers = state.store.trackers().await?;
    Ok(Json(TrackerList {
        trackers: trackers
            .into_iter()
            .map(|t| TrackerView::of(t, &server))
            .collect(),
    }))
}

/// A new tracker, its key made by the server.
#[utoipa::path(post, path = "/api/v1/trackers", tag = "tracking",
    request_body = TrackerDefinition,
    responses((status = 201, body = TrackerView), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn create_tracker(
    State(state): State<AppState>,
    headers: HeaderMap,
    Valid(definition): Valid<TrackerDefinition>,
) -> Result<(StatusCode, Json<TrackerView>), ApiError> {
    let tracker = state.store.create_tracker(&definition).await?;
    state.views.forget_trackers();
    Ok((
        StatusCode::CREATED,
        Json(TrackerView::of(tracker, &server_origin(&headers))),
    ))
}

/// Changes a tracker's name, sites or consent mode.
#[utoipa::path(put, path = "/api/v1/trackers/{key}", tag = "tracking",
    params(("key" = String, Path)),
    request_body = TrackerDefinition,
    responses((status = 200, body = TrackerView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn update_tracker(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Valid(definition): Valid<TrackerDefinition>,
) -> Result<Json<TrackerView>, ApiError> {
    let tracker = state.store.update_tracker(&key, &definition).await?;
    state.views.forget_trackers();
    Ok(Json(TrackerView::of(tracker, &server_origin(&headers))))
}

#[utoipa::path(get, path = "/api/v1/trackers/{key}", tag = "tracking",
    params(("key" = String, Path)),
    responses((status = 200, body = TrackerView), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn get_tracker(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Json<TrackerView>, ApiError> {
    let tracker = state.store.tracker(&key).await?;
    Ok(Json(TrackerView::of(tracker, &server_origin(&headers))))
}

/// The tracker script.
#[utoipa::path(get, path = "/t.js", tag = "tracking",
    responses((status = 200, description = "JavaScript", body = String, content_type = "text/javascript")))]
async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// Page views from a site's pages (sent by `t.js` with `navigator.sendBeacon`, as text so
/// no preflight is needed). Nothing is recorded for a browser asking not to be tracked (Do
/// Not Track, Global Privacy Control) or a robot's user agent; answered 204 all the same.
#[utoipa::path(post, path = "/t/collect", tag = "tracking",
    request_body(content = Object, content_type = "text/plain", description = "JSON: tracker, visitor, email (optional), views [{id, url, title, referrer, at, seconds, visit}]"),
    responses(
        (status = 204, description = "Received (or not recorded, as the browser asked)"),
        (status = 403, description = "No Origin, or a site the tracker does not list", body = Problem),
        (status = 404, description = "No such tracker", body = Problem),
        (status = 413, description = "Over 64 KiB", body = Problem),
        (status = 422, description = "A malformed post, naming the field", body = Problem),
        (status = 503, description = "The server is not keeping up; try later", body = Problem),
    ))]
async fn collect(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return ApiError::Forbidden(
            "Origin: page views come from a browser on one of the tracker's sites".into(),
        )
        .into_response();
    };
    let answer = |mut response: Response| {
        // Lets a script that used fetch read the answer; a beacon ignores it.
        if let Ok(value) = HeaderValue::from_str(origin) {
            response
                .headers_mut()
                .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
        response
    };
    let asked_not_to = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "1")
    };
    if asked_not_to("dnt") || asked_not_to("sec-gpc") {
        return answer(StatusCode::NO_CONTENT.into_response());
    }
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    if visits::robot_agent(agent) {
        return answer(StatusCode::NO_CONTENT.into_response());
    }
    let collected = match Collected::parse(&body, origin, Utc::now()) {
        Ok(collected) => collected,
        Err(errors) => {
            // A site not listed is told so, not what is wrong with its post.
            #[derive(serde::Deserialize)]
            struct Addressed {
                tracker: String,
            }
            if let Ok(Addressed { tracker }) = serde_json::from_slice::<Addressed>(&body) {
                if let Ok(Some(found)) = state.views.tracker(&state.store, &tracker).await {
                    if !found.definition.allows(origin) {
                        return answer(refused(Refusal::SiteNotListed, origin));
                    }
                }
            }
            return answer(ApiError::Invalid(errors).into_response());
        }
    };
    let result = state.views.accept(&state.store, origin, collected).await;
    answer(match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(QueueError::Refused(refusal)) => refused(refusal, origin),
        Err(QueueError::Store(e)) => ApiError::from(e).into_response(),
    })
}

fn refused(refusal: Refusal, origin: &str) -> Response {
    match refusal {
        Refusal::NoTracker => ApiError::NotFound("tracker: no tracker has this key".into()),
        Refusal::SiteNotListed => ApiError::Forbidden(format!(
            "Origin: {origin} is not one of the tracker's sites"
        )),
        Refusal::Busy => ApiError::Unavailable,
    }
    .into_response()
}
