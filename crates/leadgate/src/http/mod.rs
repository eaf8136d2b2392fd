//! The HTTP surface: the JSON API under `/api/v1` (API keys required), its OpenAPI
//! description, health and readiness probes, and Prometheus metrics.

pub mod access;
pub mod body;
pub mod client;
mod email;
mod engagement;
pub mod error;
mod events;
mod followup;
pub(crate) mod forms;
pub(crate) mod imports;
mod inbound;
mod leads;
pub(crate) use leads::{parse_id, require_identity};
mod merges;
pub(crate) mod models;
pub(crate) mod observe;
mod openapi;
mod privacy;
mod qualification;
pub(crate) mod reads;
mod routing;
pub(crate) mod spend;
pub(crate) use spend::choices as spend_choices;
mod visits;
mod webhooks;

use crate::http::error::ApiError;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leadgate_store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// A streaming replica that lists, analytics and exports read (see `reads`).
    pub replica: Option<Store>,
    /// The conversion models (their loaded active models shared by every request).
    pub models: leadgate_app::Models,
    /// Whether webhooks may target private addresses.
    pub webhook_allow_private: bool,
    /// Whose forwarding headers say who the client is (rate limits are keyed on it).
    pub trusted_proxies: std::sync::Arc<client::TrustedProxies>,
    /// The addresses whose mail becomes leads (`POST /inbound/email`).
    pub inbound_addresses: std::sync::Arc<Vec<leadgate_core::Email>>,
    /// Where the site tracker's page views wait to be written, a second at most.
    pub views: crate::jobs::visits::ViewQueue,
}

impl axum::extract::FromRef<AppState> for std::sync::Arc<client::TrustedProxies> {
    fn from_ref(state: &AppState) -> Self {
        state.trusted_proxies.clone()
    }
}

/// A path id that is not a positive whole number names nothing: 404 naming what.
pub(crate) fn path_id(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::NotFound(format!("no {what} has id '{raw}'")))
}

/// Who is calling: the name of the API key the request carried.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

/// The API, the public form routes and the health and metrics endpoints, with their state.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    let api = Router::new()
        .merge(leads::routes())
        .merge(events::routes())
        .merge(imports::routes())
        .merge(forms::api_routes())
        .merge(privacy::routes())
        .merge(merges::routes())
        .merge(followup::routes())
        .merge(routing::routes())
        .merge(webhooks::routes())
        .merge(email::routes())
        .merge(models::routes())
        .merge(qualification::routes())
        .merge(inbound::routes())
        .merge(visits::api_routes())
        .merge(spend::routes())
        .route_layer(middleware::from_fn_with_state(state, require_api_key));
    Router::new()
        .nest("/api/v1", api)
        .merge(forms::public_routes())
        .merge(engagement::routes())
        .merge(visits::public_routes())
        .route("/api/v1/openapi.json", get(openapi::spec))
        .route("/healthz", get(healthz))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
}

async fn require_api_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let secret = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(secret) = secret else {
        return refuse(request, ApiError::Unauthorized).await;
    };
    let key = match state.store.verify_api_key(secret).await {
        Ok(Some(key)) => key,
        Ok(None) => return refuse(request, ApiError::Unauthorized).await,
        Err(e) => return refuse(request, ApiError::from(e)).await,
    };
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    if let Err(refused) = check_access(&state, &key, &method, &path).await {
        return refuse(request, refused).await;
    }
    request
        .extensions_mut()
        .insert(Actor(format!("apikey:{}", key.name)));
    request.extensions_mut().insert(key.scope());
    next.run(request).await
}

/// Answers a request refused before its body was read. The body is read first (up to the
/// API's body limit) so the connection stays usable: a client that pooled it and sent its
/// next request would otherwise find it closed under it. A larger body ends the connection.
async fn refuse(request: Request, error: ApiError) -> Response {
    let mut response = error.into_response();
    if axum::body::to_bytes(request.into_body(), body::DEFAULT_LIMIT)
        .await
        .is_err()
    {
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Refuses a key whose role lacks what the route needs, or a sales key reaching past its
/// team's leads.
async fn check_access(
    state: &AppState,
    key: &leadgate_store::ApiKey,
    method: &axum::http::Method,
    path: &str,
) -> Result<(), ApiError> {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let needed = access::permission(method, path);
    let role = key.role();
    if !role.allows(needed) {
        return Err(ApiError::Forbidden(format!(
            "this key's role ({role}) may not {method} {path}"
        )));
    }
    let scope = key.scope();
    if scope == leadgate_core::access::LeadScope::All {
        return Ok(());
    }
    if !access::team_key_may_reach(path) {
        return Err(ApiError::Forbidden(format!(
            "a {role} key reaches only its team's leads, not {path}"
        )));
    }
    // The lead is read from the segment exactly as the handler's `Path` and `parse_id` read
    // it (percent-decoded, then parsed): a spelling this check does not understand is
    // refused, never waved through.
    if let Some(segment) = access::lead_in_path(path) {
        let id = access::decode_segment(segment).and_then(|s| leads::parse_id(&s))?;
        let lead = state.store.lead(id).await?;
        if !state.store.lead_in_scope(&lead, &scope).await? {
            return Err(ApiError::Forbidden(format!(
                "lead {id} belongs to another team than this key's"
            )));
        }
    }
    Ok(())
}

/// Refuses an address whose path or query holds a NUL character (`%00`): no id, search or
/// name contains one, and PostgreSQL cannot compare text with it.
pub(crate) async fn refuse_nul_in_address(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let holds_nul = |part: &str| percent_encoding::percent_decode_str(part).any(|b| b == 0);
    for (place, part) in [("path", Some(uri.path())), ("query", uri.query())] {
        if part.is_some_and(holds_nul) {
            return ApiError::BadQuery(
                leadgate_core::FieldError::new(
                    place,
                    "contains a NUL character (%00), which no id, search or name may hold",
                )
                .into(),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive", body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the store answers too.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready", body = String), (status = 503, description = "The store is unreachable", body = error::Problem)))]
async fn ready(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|_| ApiError::Unavailable)?;
    Ok("ready")
}

/// Prometheus metrics: requests, latencies, events ingested.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
async fn metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        observe::metrics_handle().render(),
    )
}
