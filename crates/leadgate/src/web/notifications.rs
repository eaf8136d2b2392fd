//! A person's notifications (new leads given to them, missed deadlines, due tasks): the
//! newest first with what each is about, marked read one by one or all at once.

use super::{back, html, Chrome, Flash, PageResult, Signed, WebError};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::Form;
use chrono::Utc;
use serde::Deserialize;

pub struct Line {
    pub id: i64,
    pub when: String,
    pub kind: String,
    pub message: String,
    pub lead: Option<i64>,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    c: Chrome,
    lines: Vec<Line>,
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(flash): Query<Flash>,
) -> PageResult {
    let c = Chrome::new(&signed, "notifications").with_flash(&flash);
    let lines = state
        .store
        .notifications(&signed.user.name, false, 100)
        .await?
        .into_iter()
        .map(|n| Line {
            id: n.id,
            when: c.when(&n.created_at.0),
            kind: match c.t(&format!("notifications.kind.{}", n.kind)) {
                unknown if unknown.starts_with("notifications.") => n.kind.clone(),
                known => known.to_owned(),
            },
            message: n.message,
            lead: n.lead_id.map(|id| id.0),
            unread: n.read_at.is_none(),
        })
        .collect();
    html(NotificationsPage { c, lines })
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Marks one of the user's own notifications read (another person's is not found).
pub async fn read_one(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    let missing = || WebError::NotFound(format!("no notification of yours has id '{raw}'"));
    let id: i64 = raw.trim().parse().map_err(|_| missing())?;
    match state.store.notification_recipient(id).await {
        Ok(recipient) if recipient == signed.user.name => {}
        Ok(_) | Err(leadgate_store::StoreError::NotFound(_)) => return Err(missing()),
        Err(e) => return Err(e.into()),
    }
    state.store.read_notification(id, Utc::now()).await?;
    Ok(back("/notifications", Ok("read")))
}

/// Marks all of the user's notifications read.
pub async fn read_all(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    state
        .store
        .read_all_notifications(&signed.user.name, Utc::now())
        .await?;
    Ok(back("/notifications", Ok("read_all")))
}
