//! The addresses in the emails Leadgate sends, reached by their recipients without a key:
//! the open pixel, the click redirect to one of the email's own links, and the one-click
//! unsubscribe (RFC 8058: a POST from the mail client, or the button of the page a GET shows).

use crate::http::client::ClientAddress;
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::web::i18n::request_catalog;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/e/{token}/open.gif", get(open))
        .route("/e/{token}/link/{n}", get(click))
        .route("/e/{token}/unsubscribe", get(ask).post(unsubscribe))
}

/// A transparent 1x1 GIF.
const PIXEL: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// The pixel, whatever the token (an unknown one learns nothing); the open recorded.
async fn open(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    if let Err(e) = leadgate_app::engagement::opened(&state.store, &token, agent, Utc::now()).await
    {
        tracing::warn!(error = %e, "cannot record an email's open");
    }
    (
        [
            (header::CONTENT_TYPE, "image/gif"),
            (header::CACHE_CONTROL, "no-store, private"),
        ],
        PIXEL,
    )
        .into_response()
}

/// On to link `n` of the email (the click recorded); 404 when the email has no such link.
async fn click(
    State(state): State<AppState>,
    Path((token, n)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::NotFound("no email has this link".into());
    let n: usize = n.parse().map_err(|_| missing())?;
    let target = leadgate_app::engagement::clicked(&state.store, &token, n, Utc::now())
        .await?
        .ok_or_else(missing)?;
    Ok(Redirect::to(&target).into_response())
}

/// The page a browser opening the unsubscribe address sees: one button. A GET changes
/// nothing, since mail scanners follow every address in a message.
async fn ask(Path(_token): Path<String>) -> Html<String> {
    let t = request_catalog();
    page(
        t.t("unsubscribe.title"),
        &format!(
            "<p>{}</p><form method=\"post\"><button type=\"submit\">{}</button></form>",
            t.t("unsubscribe.ask"),
            t.t("unsubscribe.button")
        ),
    )
}

/// The unsubscribe itself: the mail client's one-click POST or the page's button.
async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientAddress(client): ClientAddress,
) -> Result<Response, ApiError> {
    let t = request_catalog();
    let known =
        leadgate_app::engagement::unsubscribe(&state.store, &token, Some(client.to_string()))
            .await?;
    if !known {
        return Ok((
            StatusCode::NOT_FOUND,
            page(
                t.t("unsubscribe.title"),
                &format!("<p>{}</p>", t.t("unsubscribe.unknown")),
            ),
        )
            .into_response());
    }
    Ok(page(
        t.t("unsubscribe.title"),
        &format!("<p>{}</p>", t.t("unsubscribe.done")),
    )
    .into_response())
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;\
         margin:3rem auto;padding:0 1rem;line-height:1.5}}button{{font-size:1rem;padding:.6rem 1.2rem}}</style>\
         </head><body><h1>{title}</h1>{body}</body></html>",
        request_catalog().locale
    ))
}
