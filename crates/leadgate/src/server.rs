//! The server: the API and the dashboard in one router, with what every request passes
//! through (metrics, address checks, body limits, tracing), and serving it until shutdown.

use crate::http::error::ApiError;
use crate::http::{body, client, observe, AppState};
use crate::jobs::visits::ViewQueue;
use crate::jobs::DeliverySettings;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::Router;
use leadgate_store::Store;
use std::future::Future;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// How a server is set up beyond its store.
#[derive(Debug, Clone, Default)]
pub struct ServerSettings {
    pub delivery: DeliverySettings,
    pub trusted_proxies: client::TrustedProxies,
    /// A PostgreSQL streaming replica of the store, for lists, analytics and exports.
    pub replica: Option<Store>,
    /// The addresses whose mail becomes leads.
    pub inbound_addresses: Vec<leadgate_core::Email>,
    /// The demo's sample site under `/demo-site/`, tracked by the tracker with this key
    /// (`leadgate demo` only).
    pub demo_site: Option<String>,
}

impl From<DeliverySettings> for ServerSettings {
    fn from(delivery: DeliverySettings) -> Self {
        ServerSettings {
            delivery,
            ..Default::default()
        }
    }
}

/// The whole application as a router, ready to serve.
fn router(store: Store, settings: &ServerSettings, views: ViewQueue) -> Router {
    let state = AppState {
        views,
        models: leadgate_app::Models::new(store.clone()),
        store,
        replica: settings.replica.clone(),
        webhook_allow_private: settings.delivery.allow_private,
        trusted_proxies: std::sync::Arc::new(settings.trusted_proxies.clone()),
        inbound_addresses: std::sync::Arc::new(settings.inbound_addresses.clone()),
    };
    let mut routes = crate::http::routes(state.clone()).merge(crate::web::routes());
    if let Some(key) = &settings.demo_site {
        routes = routes.merge(crate::web::demo_site::routes(key.clone()));
    }
    routes
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::http::reads::mark_writes,
        ))
        .route_layer(middleware::from_fn(observe::track_requests))
        .layer(middleware::from_fn(crate::http::refuse_nul_in_address))
        .fallback(no_such_route)
        .layer(middleware::from_fn(crate::web::i18n::in_request_language))
        .layer(DefaultBodyLimit::max(body::DEFAULT_LIMIT))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// An address nothing answers: a problem for API clients, the dashboard's error page for a
/// browser asking for a page outside the API.
async fn no_such_route(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    let wants_page = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_page && !uri.path().starts_with("/api/") {
        let t = crate::web::i18n::request_catalog();
        return crate::web::WebError::NotFound(t.t("error.no_page").to_owned()).into_response();
    }
    ApiError::NotFound("no such route".into()).into_response()
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    store: Store,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(store, listener, ServerSettings::default(), shutdown).await
}

/// `serve` with settings.
pub async fn serve_with(
    store: Store,
    listener: TcpListener,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    observe::start_upkeep();
    let (views, flusher) = ViewQueue::start(store.clone());
    let served = axum::serve(
        listener,
        router(store, &settings, views)
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    // The page views still held in memory are written before the server is done.
    flusher.stop().await;
    served
}
