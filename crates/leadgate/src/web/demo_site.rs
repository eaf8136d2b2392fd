//! The demo's sample website (`leadgate demo` only): four pages of a made-up company with
//! the demo tracker's snippet, a consent banner and the demo form, served by the demo server
//! itself, so the tracker can be tried without a site of one's own.

use crate::http::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::get;
use axum::Router;

const PAGES: [(&str, &str, &str); 4] = [
    (
        "",
        "Home",
        "Sông Hồng Analytics turns your sales data into decisions.",
    ),
    (
        "pricing",
        "Pricing",
        "Starter 49 USD, Team 199 USD, Enterprise on request.",
    ),
    (
        "features",
        "Features",
        "Dashboards, forecasts and alerts, in English, 中文 and Tiếng Việt.",
    ),
    (
        "contact",
        "Contact us",
        "Tell us what you need and a rep answers within the hour.",
    ),
];

/// The sample site under `/demo-site/`, tracked by the tracker with `key`.
pub fn routes(key: String) -> Router<AppState> {
    let home = key.clone();
    Router::new()
        .route(
            "/demo-site/",
            get(move |state: State<AppState>, headers: HeaderMap| {
                page(state, home.clone(), headers, String::new())
            }),
        )
        .route(
            "/demo-site/{page}",
            get(
                move |state: State<AppState>, headers: HeaderMap, Path(name): Path<String>| {
                    page(state, key.clone(), headers, name)
                },
            ),
        )
}

async fn page(
    State(state): State<AppState>,
    key: String,
    headers: HeaderMap,
    name: String,
) -> Html<String> {
    let server = crate::http::forms::origin(&headers);
    let (_, title, text) = PAGES
        .iter()
        .find(|(path, _, _)| *path == name)
        .copied()
        .unwrap_or(PAGES[0]);
    let nav: String = PAGES
        .iter()
        .map(|(path, title, _)| format!("<a href=\"/demo-site/{path}\">{title}</a>"))
        .collect::<Vec<_>>()
        .join(" · ");
    // The demo form, as a site would paste it.
    let form = match state.store.form("demo").await {
        Ok(form) if name == "contact" => form.definition.embed(&format!("{server}/f/demo")),
        _ => String::new(),
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Sông Hồng Analytics (Leadgate demo site)</title>\
         <script async src=\"{server}/t.js\" data-tracker=\"{key}\"></script>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem}}#banner{{background:#f3f4f6;padding:.75rem;border-radius:.5rem}}input{{max-width:100%}}</style></head><body>\
         <nav>{nav}</nav><h1>{title}</h1><p>{text}</p>{form}\
         <p id=\"banner\">This demo site records the pages you read once you agree. \
         <button onclick=\"leadgate.consent(true)\">Agree</button> <button onclick=\"leadgate.consent(false)\">No, thanks</button></p>\
         <p><small>A sample site served by the Leadgate demo. Send the form on <a href=\"/demo-site/contact\">Contact us</a> and find the pages you read on your new lead's timeline.</small></p>\
         </body></html>"
    ))
}
