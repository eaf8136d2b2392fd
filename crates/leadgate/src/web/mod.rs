//! The dashboard: server-rendered pages for reps, managers, marketing and admins, behind
//! cookie sessions, with CSRF tokens on every form and roles enforced on every route.

mod analytics;
mod assign;
pub(crate) mod auth;
mod board;
mod bulk;
mod charts;
pub(crate) mod demo_site;
mod edit;
mod forms;
pub mod i18n;
mod imports;
mod inbox;
mod lead;
mod leads;
mod merges;
mod models;
mod notifications;
mod policy;
mod privacy;
mod settings;
mod teams;

use crate::http::AppState;
use askama::Template;
pub use auth::Signed;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use i18n::Catalog;
use leadgate_core::access::Permission;
use leadgate_store::{StoreError, StoredLead, User};

/// The dashboard's routes (all but `/login` need a session).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(auth::login_page).post(auth::log_in))
        .route("/logout", post(auth::log_out))
        .route("/settings/locale", post(auth::set_locale))
        .route("/settings/time-zone", post(auth::set_time_zone))
        .route("/", get(inbox::page))
        .route("/leads", get(leads::page))
        .route("/leads.csv", get(leads::csv))
        .route("/leads/views", post(leads::save_view))
        .route("/leads/views/{id}/delete", post(leads::delete_view))
        .route("/leads/new", get(edit::new).post(edit::create))
        .route("/leads/{id}", get(lead::page))
        .route("/leads/{id}/edit", post(edit::save))
        .route("/leads/{id}/junk", post(edit::junk))
        .route("/leads/{id}/consent", post(privacy::consent))
        .route("/leads/{id}/email", post(privacy::email))
        .route("/leads/{id}/person.json", get(privacy::export))
        .route("/leads/{id}/erase", post(privacy::erase))
        .route("/leads/{id}/move", post(lead::move_lead))
        .route("/leads/{id}/bant", post(lead::bant))
        .route("/leads/{id}/log", post(lead::log))
        .route("/leads/{id}/outcome", post(lead::outcome))
        .route("/leads/{id}/assign", post(assign::one))
        .route("/leads/bulk", post(bulk::many))
        .route("/tasks/{id}/{action}", post(inbox::close_task))
        .route("/notifications", get(notifications::page))
        .route("/notifications/read", post(notifications::read_all))
        .route("/notifications/{id}/read", post(notifications::read_one))
        .route("/board", get(board::page))
        .route("/policy", get(policy::page).post(policy::draft))
        .route("/settings", get(settings::page))
        .route("/settings/password", post(settings::password))
        .route("/settings/users", post(settings::create_user))
        .route("/settings/users/{name}", post(settings::update_user))
        .route(
            "/settings/users/{name}/{action}",
            post(settings::set_user_state),
        )
        .route("/settings/teams", post(teams::save_team))
        .route("/settings/reps", post(teams::save_rep))
        .route("/settings/keys", post(settings::create_key))
        .route("/settings/keys/{id}/revoke", post(settings::revoke_key))
        .route("/imports", get(imports::page))
        .route(
            "/imports/upload",
            post(imports::upload).layer(axum::extract::DefaultBodyLimit::max(
                crate::http::imports::IMPORT_BODY_LIMIT,
            )),
        )
        .route("/imports/confirm", post(imports::confirm))
        .route("/imports/{id}/rejects.csv", get(imports::rejects))
        .route("/forms", get(forms::page).post(forms::save))
        .route("/forms/{key}", get(forms::edit))
        .route("/forms/trackers", axum::routing::post(forms::save_tracker))
        .route("/merges", get(merges::page))
        .route("/merges/find", post(merges::find))
        .route("/merges/{id}/{decision}", post(merges::decide))
        .route("/analytics", get(analytics::page))
        .route("/analytics/spend", post(analytics::record_spend))
        .route(
            "/analytics/spend/import",
            post(analytics::import_spend).layer(axum::extract::DefaultBodyLimit::max(
                crate::http::spend::SPEND_FILE_LIMIT,
            )),
        )
        .route("/analytics/currency", post(analytics::set_currency))
        .route("/models", get(models::page))
        .route("/models/train", post(models::train))
        .route("/models/{id}/activate", post(models::activate))
        .route("/models/{id}/report", get(models::report))
        .route("/analytics/{table}", get(analytics::csv))
        .route("/static/app.css", get(stylesheet))
        .route("/static/app.js", get(script))
        .route("/favicon.svg", get(icon))
        .route("/favicon.ico", get(icon))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("static/app.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("static/app.js"),
    )
}

/// The tab icon (a funnel). Browsers that ask for `/favicon.ico` take the SVG too.
async fn icon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        include_str!("static/favicon.svg"),
    )
}

/// What every signed-in page shows around its content: the user, the navigation, the
/// language, the CSRF token for its forms, and a notice or error from the last action.
pub struct Chrome {
    pub t: &'static Catalog,
    /// The user's time zone: every time on the page is on its clock.
    pub zone: chrono_tz::Tz,
    pub user: User,
    pub csrf: String,
    /// Which navigation entry is this page.
    pub here: &'static str,
    pub notice: Option<String>,
    pub error: Option<String>,
    /// Unread notifications, for the header's count.
    pub unread: i64,
}

impl Chrome {
    pub fn new(signed: &Signed, here: &'static str) -> Self {
        Self {
            unread: signed.unread,
            t: i18n::catalog(&signed.user.locale),
            zone: signed.user.zone(),
            user: signed.user.clone(),
            csrf: signed.csrf.clone(),
            here,
            notice: None,
            error: None,
        }
    }

    pub fn with_flash(mut self, flash: &Flash) -> Self {
        self.notice = flash.done.as_ref().map(|k| {
            let key = format!("done.{k}");
            match flash.count {
                Some(n) => self.t.count(&key, n, &[]),
                None => self.t.t(&key).to_owned(),
            }
        });
        self.error = flash.error.clone();
        self
    }

    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.t.t(key)
    }

    /// The text of `group.key`, e.g. `tk("stage", "mql")`.
    /// A count made up to `cap`, in the reader's digits ("10,000+" at the cap).
    pub fn count(&self, n: i64, cap: i64) -> String {
        if n >= cap {
            format!("{}+", self.t.int(cap))
        } else {
            self.t.int(n)
        }
    }

    pub fn tk(&self, group: &str, key: &str) -> String {
        self.t.t(&format!("{group}.{key}")).to_owned()
    }

    /// Whether the user may see a navigation entry.
    pub fn can(&self, what: &str) -> bool {
        let permission = match what {
            "analytics" => Permission::ReadAnalytics,
            "work" => Permission::WorkLeads,
            "data" => Permission::ManageData,
            "capture" => Permission::CaptureLeads,
            "forms" => Permission::ManageForms,
            "models" => Permission::ManageModels,
            _ => Permission::ReadLeads,
        };
        self.user.role.allows(permission)
    }

    /// The unread count as the header shows it ("99+" past 99).
    pub fn unread_text(&self) -> String {
        if self.unread > 99 {
            "99+".into()
        } else {
            self.unread.to_string()
        }
    }

    pub fn role_name(&self) -> String {
        self.tk("role", self.user.role.as_str())
    }

    pub fn locales(&self) -> &'static [&'static str] {
        i18n::LOCALES
    }

    pub fn stage_name(&self, stage: &str) -> String {
        self.tk("stage", stage)
    }

    pub fn when(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        self.t.datetime(at, self.zone)
    }

    pub fn day(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        self.t.date(at, self.zone)
    }

    /// Every time zone name, for the settings form's suggestions.
    pub fn zones(&self) -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name())
    }
}

/// `?done=...` or `?error=...` after a redirect from an action.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Flash {
    pub done: Option<String>,
    pub error: Option<String>,
    /// How many things the action did, for a notice that counts them.
    pub count: Option<i64>,
}

/// Why a page or action was refused, shown as a page with the reason.
#[derive(Debug)]
pub enum WebError {
    /// No session: sign in (then come back to `next`).
    SignIn {
        next: String,
    },
    Forbidden(String),
    NotFound(String),
    /// A form with a missing or wrong CSRF token.
    Csrf,
    Invalid(String),
    TooMany {
        retry_after: u64,
    },
    Store(StoreError),
    Render(askama::Error),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::LeadNotFound(id) => WebError::NotFound(format!("lead {id} does not exist")),
            StoreError::NotFound(what) => WebError::NotFound(what),
            StoreError::Invalid(errors) => WebError::Invalid(errors.to_string()),
            StoreError::Conflict { field, reason } => {
                WebError::Invalid(format!("{field}: {reason}"))
            }
            other => WebError::Store(other),
        }
    }
}

impl From<leadgate_app::AppError> for WebError {
    fn from(e: leadgate_app::AppError) -> Self {
        match e {
            leadgate_app::AppError::Store(e) => e.into(),
            leadgate_app::AppError::Refused(refused) => WebError::Invalid(refused.to_string()),
            leadgate_app::AppError::Model(e) => WebError::Invalid(e.to_string()),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Render(e)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: &'static Catalog,
    title: String,
    message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        // Error pages speak the browser's language (the sign-in's cookie, else what it asks).
        let t = i18n::request_catalog();
        let text = |key: &str| t.t(key).to_owned();
        let (status, title, message) = match self {
            WebError::SignIn { next } => {
                let target = format!(
                    "/login?{}",
                    serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
                );
                return Redirect::to(&target).into_response();
            }
            WebError::Forbidden(m) => (StatusCode::FORBIDDEN, text("error.forbidden"), m),
            WebError::NotFound(m) => (StatusCode::NOT_FOUND, text("error.not_found"), m),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                text("error.csrf_title"),
                text("error.csrf"),
            ),
            WebError::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, text("error.invalid"), m),
            WebError::TooMany { retry_after } => {
                let page = ErrorPage {
                    t,
                    title: text("error.too_many_title"),
                    message: t.tf("error.too_many", &[("seconds", &retry_after.to_string())]),
                };
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, retry_after.to_string())],
                    axum::response::Html(page.render().unwrap_or_default()),
                )
                    .into_response();
            }
            WebError::Store(e) => {
                tracing::error!(error = %e, "dashboard request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    text("error.failed"),
                    text("error.store"),
                )
            }
            WebError::Render(e) => {
                tracing::error!(error = %e, "rendering a page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    text("error.failed"),
                    text("error.render"),
                )
            }
        };
        let page = ErrorPage { t, title, message };
        (
            status,
            axum::response::Html(page.render().unwrap_or_default()),
        )
            .into_response()
    }
}

pub type PageResult = Result<Response, WebError>;

/// A rendered template as a response.
pub fn html(page: impl Template) -> PageResult {
    Ok(axum::response::Html(page.render()?).into_response())
}

/// Back to `path` with a notice key, or with an error message.
pub fn back(path: &str, outcome: Result<&str, String>) -> Response {
    let query = match outcome {
        Ok(done) => serde_urlencoded::to_string([("done", done)]),
        Err(error) => serde_urlencoded::to_string([("error", error)]),
    }
    .unwrap_or_default();
    let joint = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{joint}{query}")).into_response()
}

/// Whether a lead lies within what the user may see; a lead outside is refused naming why.
pub async fn check_lead_access(
    state: &AppState,
    user: &User,
    lead: &StoredLead,
) -> Result<(), WebError> {
    if state.store.lead_in_scope(lead, &user.scope()).await? {
        Ok(())
    } else {
        Err(WebError::Forbidden(i18n::catalog(&user.locale).tf(
            "error.other_team",
            &[
                ("lead", &lead.id.to_string()),
                ("team", user.team.as_deref().unwrap_or("-")),
            ],
        )))
    }
}

/// The trimmed value of a field of a form read as pairs (forms whose fields repeat or vary:
/// ticked leads, a builder's rows); empty when absent.
pub fn form_field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

/// A `YYYY-MM-DD` query parameter as the start of that day (UTC); empty is none.
pub fn date_param(
    raw: &str,
    field: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, WebError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| WebError::Invalid(format!("{field}: '{raw}' is not a date (YYYY-MM-DD)")))
}

/// Refuses the user when their role lacks `what`.
pub fn require(user: &User, what: Permission) -> Result<(), WebError> {
    if user.role.allows(what) {
        Ok(())
    } else {
        let t = i18n::catalog(&user.locale);
        Err(WebError::Forbidden(t.tf(
            "error.role_forbids",
            &[("role", t.t(&format!("role.{}", user.role.as_str())))],
        )))
    }
}
