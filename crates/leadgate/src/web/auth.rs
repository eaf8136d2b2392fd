//! Signing in and out: the session cookie, the signed-in user as an extractor, CSRF checks,
//! and the limit on sign-in attempts per account and client.

use super::{html, i18n, PageResult, WebError};
use crate::http::client::ClientAddress;
use crate::http::AppState;
use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use cookie::{Cookie, SameSite};
use leadgate_store::User;
use serde::Deserialize;
use std::net::IpAddr;
use subtle::ConstantTimeEq;

const COOKIE: &str = "lg_session";
/// The double-submit token of the sign-in form (there is no session yet to hold one).
const LOGIN_COOKIE: &str = "lg_login";
/// How long a session lasts.
const SESSION_HOURS: i64 = 12;
/// Sign-in attempts one client may make at one account per window before it must wait.
const ATTEMPTS_PER_WINDOW: u32 = 5;
/// The window, in seconds.
const WINDOW_SECS: u32 = 300;

/// The key sign-in attempts are counted under: one account from one client, so a client
/// that guesses wrong locks only itself out, and only of that account (behind a proxy, the
/// client is the address the proxy forwarded: see `http::client`).
fn attempts_key(account: &str, client: IpAddr) -> String {
    format!("login:{}:{client}", account.trim().to_lowercase())
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A cookie of ours: HttpOnly, for `path`, kept `max_age_secs` (0 removes it), Secure when
/// the request came over HTTPS.
pub(crate) fn our_cookie(
    name: &'static str,
    value: String,
    path: &'static str,
    same_site: SameSite,
    max_age_secs: i64,
    headers: &HeaderMap,
) -> String {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(same_site)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .secure(over_https(headers))
        .build()
        .to_string()
}

/// Compares secrets without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The signed-in user of a request. Pages without a session redirect to the sign-in page.
#[derive(Debug, Clone)]
pub struct Signed {
    pub user: User,
    pub csrf: String,
    /// The user's unread notifications (up to 100), for the header's count.
    pub unread: i64,
    token: String,
}

impl Signed {
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, token: &str) -> Result<(), WebError> {
        if same(token, &self.csrf) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let Some(token) = cookie(&parts.headers, COOKIE) else {
            return Err(WebError::SignIn { next });
        };
        match state.store.session(&token).await? {
            Some(live) => Ok(Signed {
                unread: state.store.unread_notifications(&live.user.name).await?,
                user: live.user,
                csrf: live.csrf,
                token,
            }),
            None => Err(WebError::SignIn { next }),
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: &'static i18n::Catalog,
    /// Each language: its code, its name in this page's language, and the link choosing it.
    languages: Vec<(&'static str, String, String)>,
    next: String,
    token: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    /// A language chosen on the sign-in page itself.
    lang: Option<String>,
}

/// Only paths on this site, never `//elsewhere` or a full address. Browsers drop tabs and
/// line breaks from an address and read `\\` as `/`, so `/<TAB>/evil.example` would leave
/// the site: any control character, whitespace or backslash sends the user home instead.
fn local(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            n.to_owned()
        }
        _ => "/".into(),
    }
}

/// `; Secure` when the request reached a TLS-terminating proxy as HTTPS (it says so in
/// `X-Forwarded-Proto` or `Forwarded`): the browser then sends the cookie over HTTPS only.
/// A client forging the header only keeps its own cookie off plain HTTP.
/// Whether the request came over HTTPS, as a TLS-terminating proxy says.
fn over_https(headers: &HeaderMap) -> bool {
    let https = |name: header::HeaderName, is_https: fn(&str) -> bool| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(is_https)
    };
    let forwarded_proto = https(header::HeaderName::from_static("x-forwarded-proto"), |v| {
        v.split(',')
            .next()
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
    });
    let forwarded = https(header::FORWARDED, |v| {
        v.split([';', ','])
            .filter_map(|pair| pair.split_once('='))
            .any(|(k, v)| {
                k.trim().eq_ignore_ascii_case("proto")
                    && v.trim().trim_matches('"').eq_ignore_ascii_case("https")
            })
    });
    forwarded_proto || forwarded
}

fn login_form(
    next: String,
    error: Option<String>,
    status: axum::http::StatusCode,
    headers: &HeaderMap,
) -> PageResult {
    login_form_in(i18n::request_catalog(), next, error, status, headers)
}

fn login_form_in(
    t: &'static i18n::Catalog,
    next: String,
    error: Option<String>,
    status: axum::http::StatusCode,
    headers: &HeaderMap,
) -> PageResult {
    let token = leadgate_store::random_token();
    let page = LoginPage {
        t,
        languages: i18n::LOCALES
            .iter()
            .map(|l| {
                let query = serde_urlencoded::to_string([("lang", *l), ("next", next.as_str())])
                    .unwrap_or_default();
                (*l, t.t(&format!("language.{l}")).to_owned(), query)
            })
            .collect(),
        next,
        token: token.clone(),
        error,
    };
    let mut response = html(page)?;
    *response.status_mut() = status;
    let set = our_cookie(
        LOGIN_COOKIE,
        token,
        "/login",
        SameSite::Strict,
        3600,
        headers,
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set.parse()
            .map_err(|_| WebError::Invalid("bad cookie".into()))?,
    );
    Ok(response)
}

pub async fn login_page(headers: HeaderMap, Query(q): Query<LoginQuery>) -> PageResult {
    let next = local(q.next.as_deref());
    match q.lang.filter(|l| i18n::is_supported(l)) {
        // A language chosen here: the page in it, and the browser keeps it.
        Some(lang) => {
            let mut response = login_form_in(
                i18n::catalog(&lang),
                next,
                None,
                axum::http::StatusCode::OK,
                &headers,
            )?;
            response.headers_mut().append(
                header::SET_COOKIE,
                language_cookie(&lang, &headers)
                    .parse()
                    .map_err(|_| WebError::Invalid("bad cookie".into()))?,
            );
            Ok(response)
        }
        None => login_form(next, None, axum::http::StatusCode::OK, &headers),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    token: String,
}

pub async fn log_in(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> PageResult {
    let next = local(Some(&form.next));
    match cookie(&headers, LOGIN_COOKIE) {
        Some(expected) if !form.token.is_empty() && same(&expected, &form.token) => {}
        _ => return Err(WebError::Csrf),
    }
    // Every attempt counts, in the store (so every server counts together), before the
    // password is checked: parallel guesses cannot slip past the count. A success clears it.
    let attempts = attempts_key(&form.name, client);
    let seen = state
        .store
        .hit(&attempts, WINDOW_SECS, chrono::Utc::now())
        .await?;
    if seen.count > ATTEMPTS_PER_WINDOW {
        return Err(WebError::TooMany {
            retry_after: seen.resets_in,
        });
    }
    let ttl = chrono::Duration::hours(SESSION_HOURS);
    match state.store.log_in(&form.name, &form.password, ttl).await? {
        Some((user, session)) => {
            state.store.forget_hits(&attempts).await?;
            tracing::info!(user = %user.name, "signed in");
            let set = our_cookie(
                COOKIE,
                session.token,
                "/",
                SameSite::Lax,
                SESSION_HOURS * 3600,
                &headers,
            );
            // Three cookies: appended, since a plain header array would keep only the last.
            Ok((
                axum::response::AppendHeaders([
                    (header::SET_COOKIE, set),
                    (header::SET_COOKIE, language_cookie(&user.locale, &headers)),
                    (
                        header::SET_COOKIE,
                        our_cookie(
                            LOGIN_COOKIE,
                            String::new(),
                            "/login",
                            SameSite::Strict,
                            0,
                            &headers,
                        ),
                    ),
                ]),
                Redirect::to(&next),
            )
                .into_response())
        }
        None => login_form(
            next,
            Some(i18n::request_catalog().t("login.failed").to_owned()),
            axum::http::StatusCode::UNAUTHORIZED,
            &headers,
        ),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn log_out(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    state.store.log_out(&signed.token).await?;
    Ok((
        [(
            header::SET_COOKIE,
            our_cookie(COOKIE, String::new(), "/", SameSite::Lax, 0, &headers),
        )],
        Redirect::to("/login"),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct LocaleForm {
    #[serde(default)]
    csrf: String,
    locale: String,
    #[serde(default)]
    back: String,
}

pub async fn set_locale(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<LocaleForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    if !i18n::is_supported(&form.locale) {
        return Err(WebError::Invalid(format!(
            "locale: '{}' is not one of {}",
            form.locale,
            i18n::LOCALES.join(", ")
        )));
    }
    state
        .store
        .set_user_locale(signed.user.id, &form.locale)
        .await?;
    Ok((
        [(header::SET_COOKIE, language_cookie(&form.locale, &headers))],
        Redirect::to(&local(Some(&form.back))),
    )
        .into_response())
}

/// The cookie that keeps the browser's language for the sign-in and error pages (a year).
fn language_cookie(locale: &str, headers: &HeaderMap) -> String {
    our_cookie(
        i18n::LANGUAGE_COOKIE,
        locale.to_owned(),
        "/",
        SameSite::Lax,
        365 * 24 * 3600,
        headers,
    )
}

#[derive(Deserialize)]
pub struct TimeZoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    time_zone: String,
}

/// A user sets the time zone their pages show times in.
pub async fn set_time_zone(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<TimeZoneForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    let set = state
        .store
        .set_user_time_zone(signed.user.id, &form.time_zone)
        .await;
    super::settings::answer(set, "time_zone")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_secure_when_a_proxy_says_the_request_was_https() {
        let with = |name: &'static str, value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(name, value.parse().unwrap());
            over_https(&headers)
        };
        assert!(!over_https(&HeaderMap::new()));
        assert!(with("x-forwarded-proto", "https"));
        assert!(with("x-forwarded-proto", "HTTPS, http"));
        assert!(!with("x-forwarded-proto", "http"));
        assert!(
            !with("x-forwarded-proto", "http, https"),
            "the first hop counts"
        );
        assert!(with("forwarded", "for=10.0.0.1;proto=https"));
        assert!(with("forwarded", "for=10.0.0.1; proto=\"https\""));
        assert!(!with("forwarded", "for=10.0.0.1;proto=http"));
    }

    #[test]
    fn sign_in_goes_on_only_to_a_path_of_this_site() {
        for next in ["/leads/4", "/leads?stage=mql&q=a%20b", "/%2F/x"] {
            assert_eq!(local(Some(next)), next);
        }
        for next in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/\\evil.example",
            "\\/evil.example",
            "https://evil.example",
            "/ /evil.example",
            "/\u{a0}/evil.example",
            "evil.example",
            "",
        ] {
            assert_eq!(local(Some(next)), "/", "{next:?}");
        }
        assert_eq!(local(None), "/");
    }

    proptest::proptest! {
        #[test]
        fn any_next_is_a_path_a_browser_keeps_on_this_site(next in "\\PC{0,12}|/[\t\n\r /\\\\a-z]{0,6}") {
            let kept = local(Some(&next));
            let first_two: Vec<char> = kept.chars().take(2).collect();
            proptest::prop_assert_eq!(first_two[0], '/');
            proptest::prop_assert!(first_two.get(1).is_none_or(|c| *c != '/' && *c != '\\'));
            proptest::prop_assert!(!kept.chars().any(|c| c.is_control() || c.is_whitespace()));
            proptest::prop_assert!(axum::http::HeaderValue::from_str(&kept).is_ok());
        }
    }

    #[test]
    fn attempts_count_per_account_and_client() {
        let ip = IpAddr::from([10, 0, 0, 1]);
        assert_eq!(attempts_key(" Mia ", ip), attempts_key("mia", ip));
        assert_ne!(attempts_key("mia", ip), attempts_key("vic", ip));
        assert_ne!(
            attempts_key("mia", ip),
            attempts_key("mia", IpAddr::from([10, 0, 0, 2]))
        );
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local(Some("/leads/4")), "/leads/4");
        assert_eq!(local(Some("//evil.example")), "/");
        assert_eq!(local(Some("https://evil.example")), "/");
        assert_eq!(local(Some("/\\evil")), "/");
        assert_eq!(local(None), "/");
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; junk; lg_session=tok; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie(&headers, "c"), None);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }

    #[test]
    fn our_cookies_are_http_only_and_removed_with_no_age() {
        let mut https = HeaderMap::new();
        https.insert("x-forwarded-proto", "https".parse().unwrap());
        let set = our_cookie(COOKIE, "tok".into(), "/", SameSite::Lax, 60, &https);
        for part in [
            "lg_session=tok",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=60",
            "Secure",
        ] {
            assert!(set.contains(part), "{set}");
        }
        let gone = our_cookie(
            COOKIE,
            String::new(),
            "/",
            SameSite::Lax,
            0,
            &HeaderMap::new(),
        );
        assert!(
            gone.starts_with("lg_session=;") && gone.contains("Max-Age=0"),
            "{gone}"
        );
        assert!(!gone.contains("Secure"), "{gone}");
    }
}
