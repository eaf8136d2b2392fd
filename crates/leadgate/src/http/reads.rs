//! Where a request's reads go when the store has a read replica: lists, analytics and
//! exports read the replica, unless the reader's last write is not on it yet.
//!
//! A write answered with success carries the primary's log position after it (the
//! `Leadgate-Lsn` header, and the `lg_lsn` cookie for browsers). A read that sends it back
//! reads the replica only once the replica has replayed that far, and the primary until
//! then: whoever just acted sees their own change, and everyone else reads the replica.

use super::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use leadgate_store::{Store, WalPosition};
use std::convert::Infallible;

/// The header that carries the log position of a client's last write, both ways.
pub const LSN_HEADER: &str = "leadgate-lsn";
/// The browser's copy of it.
const LSN_COOKIE: &str = "lg_lsn";
/// How long a browser keeps the position: far longer than a healthy replica lags; after
/// it, a reader whose write the replica still lacks could read past it.
const LSN_COOKIE_SECS: i64 = 3600;

/// The store a request's reads go to: the replica, or the primary while the replica has
/// not replayed the reader's last write (or when there is no replica).
pub struct Reads(pub Store);

impl FromRequestParts<AppState> for Reads {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let Some(replica) = &state.replica else {
            return Ok(Reads(state.store.clone()));
        };
        let current = match last_write(&parts.headers) {
            None => true,
            Some(position) => match replica.has_replayed(position).await {
                Ok(replayed) => replayed,
                Err(error) => {
                    tracing::warn!(%error, "cannot ask the replica how far it has replayed");
                    false
                }
            },
        };
        Ok(Reads(if current {
            replica.clone()
        } else {
            state.store.clone()
        }))
    }
}

/// The log position of the reader's last write: the header, else the cookie. A value that
/// is not a position is ignored, as if absent (only its sender reads by it).
fn last_write(headers: &HeaderMap) -> Option<WalPosition> {
    let header = headers
        .get(LSN_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    header.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == LSN_COOKIE)
            .and_then(|(_, value)| value.parse().ok())
    })
}

/// After a successful write, when the store has a replica: the primary's log position,
/// as a header and a cookie, for the writer's next reads.
pub(crate) async fn mark_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let reads_only = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if state.replica.is_none() || reads_only {
        return next.run(request).await;
    }
    let request_headers = request.headers().clone();
    let mut response = next.run(request).await;
    if !(response.status().is_success() || response.status().is_redirection()) {
        return response;
    }
    match state.store.wal_position().await {
        Ok(Some(position)) => {
            let text = position.to_string();
            let cookie = crate::web::auth::our_cookie(
                LSN_COOKIE,
                text.clone(),
                "/",
                cookie::SameSite::Lax,
                LSN_COOKIE_SECS,
                &request_headers,
            );
            let headers = response.headers_mut();
            for (name, value) in [
                (header::HeaderName::from_static(LSN_HEADER), text),
                (header::SET_COOKIE, cookie),
            ] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.append(name, value);
                }
            }
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "cannot read the primary's log position"),
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn the_last_write_is_read_from_the_header_then_the_cookie() {
        let at = |s: &str| s.parse::<WalPosition>().ok();
        assert_eq!(last_write(&headers(&[])), None);
        assert_eq!(
            last_write(&headers(&[("cookie", "lg_session=x; lg_lsn=0/3016130")])),
            at("0/3016130")
        );
        assert_eq!(
            last_write(&headers(&[
                ("leadgate-lsn", "1/0"),
                ("cookie", "lg_lsn=0/3016130")
            ])),
            at("1/0")
        );
        // Not a position: as if absent.
        assert_eq!(last_write(&headers(&[("cookie", "lg_lsn=junk")])), None);
        assert_eq!(
            last_write(&headers(&[
                ("leadgate-lsn", "'; DROP"),
                ("cookie", "lg_lsn=2/A")
            ])),
            at("2/A")
        );
    }
}
